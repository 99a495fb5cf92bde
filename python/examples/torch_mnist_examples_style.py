# The idioms of PyTorch's own examples/mnist (F.nll_loss on log_softmax, SGD with momentum and
# StepLR, .to(device), enumerate(train_loader), pred.eq(target.view_as(pred)), torch.max(x.data,
# 1), torch.onnx.export with dynamic_axes) on an MLP, written for PyTorch; on neurite only the
# import lines differ (`import torch` -> `import neurite.torch as torch`, and so on).
# Usage: python torch_mnist_examples_style.py [MNIST_DIR] [OUT_DIR]
import gzip, os, sys, numpy as np
import neurite.torch as torch
import neurite.torch.nn as nn
import neurite.torch.nn.functional as F
import neurite.torch.optim as optim
from neurite.torch.utils.data import DataLoader, TensorDataset
from neurite.torch.optim.lr_scheduler import StepLR

d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NEURITE_DATA", "../shared/data/mnist")
out = sys.argv[2] if len(sys.argv) > 2 else "."
def load(name, off): return np.frombuffer(gzip.open(os.path.join(d, name)).read(), np.uint8, offset=off)
xtr = torch.from_numpy(load("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).copy()).float() / 255
ytr = torch.from_numpy(load("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
xte = torch.from_numpy(load("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).copy()).float() / 255
yte = torch.from_numpy(load("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
xtr = (xtr - 0.1307) / 0.3081; xte = (xte - 0.1307) / 0.3081
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(1)
train_loader = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True)
test_loader = DataLoader(TensorDataset(xte, yte), batch_size=1000)

class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(128, 10)
    def forward(self, x):
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return F.log_softmax(self.fc2(x), dim=1)

model = Net().to(device)
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
print(model)
print(sum(p.numel() for p in model.parameters() if p.requires_grad))
for epoch in range(1, 3):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 300 == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset), 100. * batch_idx / len(train_loader), loss.item()))
    scheduler.step()
    model.eval()
    test_loss = 0; correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset), 100. * correct / len(test_loader.dataset)))
    _, predicted = torch.max(output.data, 1)
    print((predicted == target).sum().item(), optimizer.param_groups[0]['lr'], scheduler.get_last_lr())
torch.save(model.state_dict(), os.path.join(out, "mnist.pt"))
m2 = Net(); m2.load_state_dict(torch.load(os.path.join(out, "mnist.pt"), weights_only=True)); m2.eval()
dummy = torch.randn(1, 1, 28, 28, device=device)
torch.onnx.export(m2, dummy, os.path.join(out, "mnist.onnx"), export_params=True, opset_version=17, input_names=['input'], output_names=['output'], dynamic_axes={'input': {0: 'batch_size'}, 'output': {0: 'batch_size'}})
print("exported")
