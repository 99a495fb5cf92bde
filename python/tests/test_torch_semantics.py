"""neurite.torch's behaviour where PyTorch's fixtures cannot speak (random draws, modes,
registration, files, loops): what a PyTorch user relies on."""

import numpy as np
import pytest

import neurite.torch as torch
import neurite.torch.nn.functional as F
from neurite.torch import nn, optim
from neurite.torch.utils.data import DataLoader, TensorDataset


def test_note_003_tensor_basics():
    nums = torch.arange(9)
    assert nums.shape == (9,) and nums.dtype == torch.int64
    m = nums.view(3, -1)
    assert m.shape == torch.Size([3, 3]) and m.size() == (3, 3) and m.size(0) == 3
    assert m.float().dtype == torch.float32 and m.int().dtype == torch.int32 and m.float().long().dtype == torch.int64
    x = torch.ones(2, 3)
    assert x.add_(1) is x and x.tolist() == [[2.0] * 3] * 2
    assert torch.cat([x, x]).shape == (4, 3) and torch.cat([x, x], dim=1).shape == (2, 6)
    assert torch.stack([x, x]).shape == (2, 2, 3)
    assert torch.zeros(1, 3, 1).squeeze().shape == (3,) and torch.zeros(3).unsqueeze(0).shape == (1, 3)
    assert torch.linspace(0, 10, 5).tolist() == [0.0, 2.5, 5.0, 7.5, 10.0]
    assert (m == m).all() and not (m != m).any()
    assert isinstance(nums.sum().item(), int) and isinstance(nums.float().sum().item(), float)


def test_integers_beyond_float32_exactness_are_refused():
    with pytest.raises(ValueError, match="2\\*\\*24"):
        torch.tensor([2**25])


def test_float64_converts_but_does_not_compute():
    d = torch.from_numpy(np.array([1.5, 2.5]))
    assert d.dtype == torch.float64 and d.float().tolist() == [1.5, 2.5]
    with pytest.raises(TypeError, match="float32"):
        d + 1


def test_autograd_leaf_rules_and_no_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    assert y.requires_grad and not y.is_leaf and w.is_leaf and y.grad_fn is not None
    y.backward()
    assert w.grad.tolist() == [2.0, 4.0]
    (w * 3).sum().backward()  # gradients add up until zeroed
    assert w.grad.tolist() == [5.0, 7.0]
    with torch.no_grad():
        w -= 0.1 * w.grad  # the hand-written SGD step of tutorials: in place, same leaf
        z = w * 2
    assert w.is_leaf and w.requires_grad and not z.requires_grad
    assert np.allclose(w.detach().numpy(), [0.5, 1.3])
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]
    w.grad = None
    assert w.grad is None
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w += 1  # as add_: outside no_grad a leaf that requires grad is not changed in place
    assert not w.detach().requires_grad
    with pytest.raises(RuntimeError, match="requires grad"):
        w.numpy()

    @torch.no_grad()
    def evaluate(v):
        return v * 2

    assert not evaluate(w).requires_grad and torch.is_grad_enabled()


def test_autograd_grad_does_not_touch_dot_grad():
    x = torch.tensor([3.0], requires_grad=True)
    (g,) = torch.autograd.grad((x**3).sum(), x)
    assert g.tolist() == [27.0] and x.grad is None


def test_module_registration_state_dict_and_modes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.bn = nn.BatchNorm1d(8)
            self.drop = nn.Dropout(0.5)
            self.fc2 = nn.Linear(8, 2)
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.fc2(self.drop(self.bn(self.fc1(x)).relu())) * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"]
    keys = list(net.state_dict())
    assert "bn.running_mean" in keys and "bn.num_batches_tracked" in keys
    assert net.state_dict()["bn.num_batches_tracked"].dtype == torch.int64
    assert sum(p.numel() for p in net.parameters()) == 4 * 8 + 8 + 16 + 8 * 2 + 2 + 1
    x = torch.randn(16, 4)
    net.train()
    a, b = net(x), net(x)
    assert not torch.equal(a, b)  # dropout draws anew in training
    net.eval()
    assert torch.equal(net(x), net(x)) and not net.drop.training
    other = Net()
    result = other.load_state_dict(net.state_dict())
    assert result.missing_keys == [] and other.eval() is other
    assert torch.equal(other(x), net(x))
    with pytest.raises(RuntimeError, match="Missing key"):
        other.load_state_dict({"fc1.weight": torch.zeros(8, 4)})


def test_linear_initialisation_is_pytorchs_distribution():
    torch.manual_seed(1)
    fc = nn.Linear(400, 300)
    w = fc.weight.detach().numpy()
    bound = 1 / np.sqrt(400)
    assert w.shape == (300, 400) and np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound


def test_manual_seed_repeats_everything():
    def draw():
        torch.manual_seed(42)
        fc = nn.Linear(3, 2)
        order = [yb.tolist() for _, yb in DataLoader(TensorDataset(torch.zeros(10, 1), torch.arange(10)), batch_size=4, shuffle=True)]
        return fc.weight.tolist(), torch.randn(3).tolist(), F.dropout(torch.ones(6), 0.5).tolist(), order

    assert draw() == draw()


def test_dataloader_batches_shuffles_and_drops():
    x, y = torch.arange(20).float().view(10, 2), torch.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[0][1].tolist() == [0, 1, 2, 3] and batches[0][1].dtype == torch.int64
    shuffled = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, drop_last=True)
    seen = [v for _, yb in shuffled for v in yb.tolist()]
    assert len(shuffled) == 2 and len(seen) == 8 and len(set(seen)) == 8 and seen != sorted(seen)
    for xb, yb in DataLoader(TensorDataset(x, y), batch_size=3, shuffle=True):
        assert torch.equal(xb[:, 0], yb.float() * 2)  # rows stay paired


def test_dataloader_over_a_plain_dataset_collates():
    class Squares(torch.utils.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return torch.tensor([float(i)]), i * i

    xb, yb = next(iter(DataLoader(Squares(), batch_size=5)))
    assert xb.shape == (5, 1) and yb.tolist() == [0, 1, 4, 9, 16] and yb.dtype == torch.int64


def test_unsupported_features_say_so():
    with pytest.raises(TypeError, match="differentiable"):
        optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, differentiable=True)
    with pytest.raises(RuntimeError, match="CPU only"):
        torch.zeros(1).cuda()
    with pytest.raises(TypeError, match="weight"):
        nn.CrossEntropyLoss(weight=torch.ones(3))
    with pytest.raises(AttributeError, match="Conv3d"):
        nn.Conv3d
    assert torch.cuda.is_available() is False
    assert torch.zeros(2).to("cpu").device == torch.device("cpu")


def test_indexing_writes_outside_the_graph():
    t = torch.zeros(3, 3)
    t[1] = 5
    t[t > 4] = 2
    t[:, 0] = torch.tensor([7.0, 8.0, 9.0])
    assert t.tolist() == [[7.0, 0.0, 0.0], [8.0, 2.0, 2.0], [9.0, 0.0, 0.0]]
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 1.0


def test_torchvision_mnist_with_transforms_batches_as_item_by_item(mnist_dir, monkeypatch):
    from neurite.torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(str(mnist_dir), train=False, transform=tf)
    assert len(ds) == 10000
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and isinstance(y, int)
    raw = datasets.MNIST(str(mnist_dir), train=False)[0][0]
    assert raw.dtype == torch.uint8 and raw.shape == (28, 28)
    assert torch.allclose(x, (raw.float() / 255.0 - 0.1307).view(1, 28, 28) / 0.3081, atol=1e-6)
    batched = next(iter(DataLoader(ds, batch_size=5)))
    one_by_one = next(iter(DataLoader(ds, batch_size=5, collate_fn=torch.utils.data.default_collate)))
    assert torch.allclose(batched[0], one_by_one[0]) and torch.equal(batched[1], one_by_one[1])
    monkeypatch.delenv("NEURITE_DATA", raising=False)
    with pytest.raises(RuntimeError, match="download=True"):
        datasets.MNIST(str(mnist_dir / "nowhere"), train=True)


def test_a_small_convnet_trains_and_says_what_it_cannot_do():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    x = torch.randn(16, 1, 8, 8)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    opt = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert model[0].weight.shape == (4, 1, 3, 3) and "Conv2d(1, 4, kernel_size=(3, 3)" in repr(model)
    with pytest.raises(TypeError, match=r"padding=\(2, 2\)"):
        nn.Conv2d(1, 4, 3, padding=2)
    with pytest.raises(RuntimeError, match="channels"):
        nn.Conv2d(3, 4, 3)(torch.zeros(1, 1, 8, 8))



def test_a_convnet_exports_to_onnx_that_onnx_runtime_runs(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2), nn.Flatten(), nn.Linear(6 * 3 * 3, 10)
    )
    model.eval()
    x = torch.randn(5, 1, 16, 16)
    with torch.no_grad():
        want = model(x).numpy()
    path = tmp_path / "cnn.onnx"
    torch.onnx.export(model, torch.randn(1, 1, 16, 16), str(path), input_names=["input"], output_names=["out"],
                      dynamic_axes={"input": {0: "batch"}, "out": {0: "batch"}})
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
    assert got.shape == (5, 10) and np.abs(got - want).max() < 1e-5
