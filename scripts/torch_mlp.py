"""The PyTorch side of the comparison scripts (csv_vs_sklearn.py, images_vs_torch.py,
read_csv_vs_pandas.py): the network `neurite train` builds for a table or a folder of
pictures (Linear, ReLU, Linear), trained with Adam on shuffled batches, written once so that
every comparison trains PyTorch the same way."""
import time


def train(x, y, classes, hidden, epochs, lr, batch, seed, threads=None, on_epoch=None):
    """Trains on float32 features `x` and class numbers `y` (0 .. classes-1); returns the
    network. `threads` sets torch's threads (None leaves its default); `on_epoch(epoch,
    seconds, last_loss)` is called after each epoch."""
    import torch

    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        start = time.perf_counter()
        for idx in torch.randperm(len(y)).split(batch):
            optimizer.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        if on_epoch:
            on_epoch(epoch, time.perf_counter() - start, loss.item())
    return net


def accuracy(net, x, y):
    """The fraction of rows of `x` whose highest output is their class in `y` (a class the
    network does not know, given as -1, counts as wrong)."""
    import torch

    with torch.no_grad():
        x = torch.as_tensor(x, dtype=torch.float32)
        return (net(x).argmax(1) == torch.as_tensor(y)).float().mean().item()
