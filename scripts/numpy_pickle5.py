"""Protocol-5 pickles of NumPy arrays, as real NumPy writes them, for neurite's pickle reader.

With protocol 5 (Python 3.8's `pickle.dump(..., protocol=5)`; the default from Python 3.14)
NumPy pickles a C- or Fortran-contiguous array as `numpy._core.numeric._frombuffer(buffer,
dtype, shape, order)` (NumPy 1 spells it `numpy.core.numeric`), the buffer in the file as a
BYTEARRAY8 (a writable array) or bytes (a read-only one); an array that is neither
contiguous keeps the older `_reconstruct` form. Writes, into tests/fixtures/:

* `numpy_net_p5.pkl`: the dict of arrays of `numpy_net_p4.pkl` (the fixture network, its
  weights Fortran-ordered float32, as the book's `sample_weight.pkl`), read back with NumPy
  and pickled again with protocol 5: the same values, so neurite must read the two to the
  same model.
* `numpy_p5_mixed.pkl` and `numpy_p5_mixed_p4.pkl`: one dict of arrays with every case
  (C and Fortran order, 1-D to 3-D, float32 and float64, big-endian, read-only, empty, a
  strided view that keeps `_reconstruct`), pickled with protocol 5 spelled as NumPy 1 does
  (`numpy.core.numeric`, `numpy.core.multiarray`; each name's length byte with it, the
  optional FRAME length hints dropped), and with protocol 4 (the `_reconstruct` form of
  every array).

Run with `/work/venv-ref/bin/python scripts/numpy_pickle5.py` (NumPy 2.4, Python 3.11).
"""

import pathlib
import pickle
import pickletools

import numpy as np

fixtures = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def opcodes(data):
    return {op.name for op, _, _ in pickletools.genops(data)}


def numpy1_spelling(data):
    """`data` with NumPy 2's module names `numpy._core.numeric` and `numpy._core.multiarray`
    spelled as NumPy 1 writes them, `numpy.core.*`: each name's length byte changes with it, so the FRAME opcodes (length
    hints, optional) are dropped and the pickle is left unframed."""
    ops = list(pickletools.genops(data))
    out = bytearray()
    for i, (op, arg, pos) in enumerate(ops):
        chunk = data[pos : ops[i + 1][2] if i + 1 < len(ops) else len(data)]
        if op.name == "FRAME":
            continue
        if op.name == "SHORT_BINUNICODE" and arg in ("numpy._core.numeric", "numpy._core.multiarray"):
            name = arg.replace("numpy._core.", "numpy.core.").encode()
            chunk = b"\x8c" + bytes([len(name)]) + name
        out += chunk
    return bytes(out)


net = pickle.loads((fixtures / "numpy_net_p4.pkl").read_bytes())
assert net["W1"].flags.f_contiguous and not net["W1"].flags.c_contiguous
p5 = pickle.dumps(net, protocol=5)
assert b"numpy._core.numeric" in p5 and b"_frombuffer" in p5 and "BYTEARRAY8" in opcodes(p5)
(fixtures / "numpy_net_p5.pkl").write_bytes(p5)

rng = np.random.default_rng(26)
readonly = rng.standard_normal((2, 3)).astype(np.float32)
readonly.flags.writeable = False
mixed = {
    "c2": rng.standard_normal((3, 4)).astype(np.float32),
    "f2": np.asfortranarray(rng.standard_normal((4, 3)).astype(np.float32)),
    "f3": np.asfortranarray(np.arange(24, dtype="<f8").reshape(2, 3, 4)),
    "be": np.arange(5, dtype=">f4") / 7,
    "ro": readonly,
    "empty": np.zeros((0, 3), dtype=np.float32),
    "strided": np.arange(20, dtype=np.float32).reshape(4, 5)[:, ::2],
}
assert mixed["f3"].flags.f_contiguous and not mixed["strided"].flags.c_contiguous
p5 = numpy1_spelling(pickle.dumps(mixed, protocol=5))
ops = opcodes(p5)
assert {"BYTEARRAY8", "SHORT_BINBYTES"} <= ops, ops
assert b"numpy.core.numeric" in p5 and b"numpy.core.multiarray" in p5 and b"numpy._core" not in p5
(fixtures / "numpy_p5_mixed.pkl").write_bytes(p5)
(fixtures / "numpy_p5_mixed_p4.pkl").write_bytes(pickle.dumps(mixed, protocol=4))

# Every file reads back to the same arrays in NumPy (NumPy 2 still answers to numpy.core).
for name, expected in (("numpy_net_p5.pkl", net), ("numpy_p5_mixed.pkl", mixed), ("numpy_p5_mixed_p4.pkl", mixed)):
    back = pickle.loads((fixtures / name).read_bytes())
    assert back.keys() == expected.keys(), name
    for k in expected:
        assert back[k].dtype == expected[k].dtype and np.array_equal(back[k], expected[k]), (name, k)
print("wrote numpy_net_p5.pkl, numpy_p5_mixed.pkl, numpy_p5_mixed_p4.pkl")
