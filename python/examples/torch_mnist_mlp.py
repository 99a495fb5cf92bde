# A PyTorch beginner's program: tensor basics as note 003 lists them, then an nn.Module MLP
# (784-128-10, ReLU) trained for 3 epochs on MNIST with DataLoader(TensorDataset(...)),
# CrossEntropyLoss and Adam, evaluated under no_grad, saved and loaded as a state_dict and
# exported to ONNX. Written for PyTorch; on neurite only the imports below change:
#
#   import torch                                   ->  import neurite.torch as torch
#   from torch import nn, optim                    ->  from neurite.torch import nn, optim
#   from torch.utils.data import DataLoader, ...   ->  from neurite.torch.utils.data import ...
#
# Usage: python torch_mnist_mlp.py [MNIST_DIR] [OUT_DIR]
# scripts/torch_mlp_side_by_side.py makes the PyTorch original by swapping the three import
# lines back, and times both.
import gzip
import os
import sys
import time

import numpy as np

import neurite.torch as torch
from neurite.torch import nn, optim
from neurite.torch.utils.data import DataLoader, TensorDataset

data_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NEURITE_DATA", "../shared/data/mnist")
out_dir = sys.argv[2] if len(sys.argv) > 2 else "."

# --- tensor basics (note 003) ---
x = torch.arange(12)
print(x, x.shape, x.dtype)
m = x.view(3, -1)
print(m)
print(m.float().mean(dim=0), m.sum(dim=1), m.max())
print(torch.linspace(0, 1, 5))
print(m.unsqueeze(0).shape, m.unsqueeze(0).squeeze().shape)
y = torch.zeros(2, 3)
y.add_(1)
print(torch.cat([y, torch.ones(1, 3)]).shape, torch.stack([y, y]).shape)
print((m > 5).int(), m[1], m[:, 2], m[m % 2 == 0])
a = torch.tensor([2.0, 3.0], requires_grad=True)
b = (a * a).sum()
b.backward()
print(a.grad)

# --- data ---
def images(name):
    with gzip.open(os.path.join(data_dir, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)

def labels(name):
    with gzip.open(os.path.join(data_dir, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)

torch.manual_seed(0)
x_train = torch.tensor(images("train-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
y_train = torch.tensor(labels("train-labels-idx1-ubyte.gz"), dtype=torch.long)
x_test = torch.tensor(images("t10k-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
y_test = torch.tensor(labels("t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)

# --- model ---
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))

model = MLP()
print(model)
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=1e-3)

start = time.perf_counter()
for epoch in range(3):
    model.train()
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.shape[0]
    print(f"epoch {epoch + 1}: loss {total / len(loader.dataset):.4f}")
fit_seconds = time.perf_counter() - start

model.eval()
with torch.no_grad():
    predicted = model(x_test).argmax(dim=1)
    accuracy = (predicted == y_test).float().mean().item()
print(f"test accuracy {accuracy:.4f}")

path = os.path.join(out_dir, "mlp.pt")
torch.save(model.state_dict(), path)
restored = MLP()
restored.load_state_dict(torch.load(path))
restored.eval()
with torch.no_grad():
    same = torch.equal(restored(x_test[:100]).argmax(dim=1), predicted[:100])
print("restored model agrees:", same)

torch.onnx.export(model, torch.randn(1, 784), os.path.join(out_dir, "mlp.onnx"),
                  input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
print(f"RESULT torch={torch.__version__} threads={torch.get_num_threads()} fit_seconds={fit_seconds:.2f} "
      f"test_accuracy={accuracy:.4f}")
