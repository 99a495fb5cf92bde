"""The learner's BatchNormalization/Dropout MLP in PyTorch, for the side-by-side figure in
BENCHMARKS.md: 784-256(relu) -> BatchNorm1d(eps=1e-3, momentum=0.01) -> Dropout(0.3) ->
10, Adam (Keras' epsilon), batch 128, cross-entropy on logits, shuffled each epoch.
Prints the last line neurite train prints: fit_seconds=... test_accuracy=...

    python scripts/torch_mlp_bn.py MNIST_DIR [EPOCHS] [THREADS]
"""

import gzip
import pathlib
import sys
import time

import numpy as np
import torch

data = pathlib.Path(sys.argv[1])
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
torch.manual_seed(0)


def idx(name, offset):
    with gzip.open(data / name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


x = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255)
y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
xt = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255)
yt = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
net = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.BatchNorm1d(256, eps=1e-3, momentum=0.01),
    torch.nn.Dropout(0.3), torch.nn.Linear(256, 10),
)
opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.perf_counter()
for epoch in range(epochs):
    net.train()
    order = torch.randperm(len(x))
    for i in range(0, len(x), 128):
        b = order[i : i + 128]
        opt.zero_grad()
        loss_fn(net(x[b]), y[b]).backward()
        opt.step()
fit = time.perf_counter() - start
net.eval()
with torch.no_grad():
    acc = (net(xt).argmax(1) == yt).float().mean().item()
print(f"fit_seconds={fit:.2f} threads={torch.get_num_threads()} test_accuracy={acc:.4f}")
