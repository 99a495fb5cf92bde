"""PyTorch's side of tests/torch_save.rs.

    python scripts/torch_save_fixtures.py make
        writes tests/fixtures/torch_save_linear_bn.pt, torch.save's file of the state_dict of
        nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)) after three training steps (so that
        the running statistics and num_batches_tracked, an int64 0-d tensor, are not their
        defaults), and tests/fixtures/torch_save_linear_bn.json, its keys, dtypes, shapes
        and values (floats written exactly, as Python's repr of each f32 value).

    python scripts/torch_save_fixtures.py check FILE.pt EXPECTED.json
        loads a file neurite wrote with torch.load(FILE, weights_only=True) and compares it
        with EXPECTED.json (same layout): same keys in the same order, dtypes, shapes, and
        values exactly. Prints "ok: N tensors" or exits with status 1 and what differs.

Run with a Python that has torch (/work/venv-ref/bin/python here: torch 2.15).
"""
import json
import sys
from collections import OrderedDict
from pathlib import Path

import torch

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def describe(state):
    out = []
    for key, t in state.items():
        out.append(
            {
                "key": key,
                "dtype": str(t.dtype).replace("torch.", ""),
                "shape": list(t.shape),
                "values": t.reshape(-1).tolist(),
            }
        )
    return out


def make():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        x = torch.randn(8, 4)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    state = model.state_dict()
    torch.save(state, FIXTURES / "torch_save_linear_bn.pt")
    (FIXTURES / "torch_save_linear_bn.json").write_text(json.dumps(describe(state), indent=1) + "\n")
    print("wrote", FIXTURES / "torch_save_linear_bn.pt", "with", list(state.keys()))


def check(path, expected_path):
    state = torch.load(path, weights_only=True)
    if not isinstance(state, OrderedDict) and not isinstance(state, dict):
        sys.exit(f"{path}: torch.load gave {type(state)}, not a dict")
    got = describe(state)
    expected = json.loads(Path(expected_path).read_text())
    problems = []
    if [g["key"] for g in got] != [e["key"] for e in expected]:
        problems.append(f"keys {[g['key'] for g in got]} != {[e['key'] for e in expected]}")
    for g, e in zip(got, expected):
        for field in ("dtype", "shape", "values"):
            if g[field] != e[field]:
                problems.append(f"{g['key']}: {field} {g[field]} != {e[field]}")
    for key, t in state.items():
        if not t.is_contiguous():
            problems.append(f"{key}: not contiguous")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"ok: {len(got)} tensors")


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"]:
        make()
    elif sys.argv[1:2] == ["check"] and len(sys.argv) == 4:
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
