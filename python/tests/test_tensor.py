"""The library's tensors from Python: NumPy in and out, the notes' `dot` examples, errors."""

import numpy as np
import pytest

import neurite as nt


def test_numpy_in_and_out():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = nt.tensor(a)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    out = np.asarray(t)
    assert out.dtype == np.float32 and out.tolist() == a.tolist()
    assert t.numpy().tolist() == a.tolist()
    assert t.reshape(-1, 2).shape == (3, 2) and t.T.shape == (3, 2)


def test_the_notes_dot_examples():
    assert nt.tensor([[1, 2], [3, 4]]).dot(nt.tensor([[5, 6], [7, 8]])).numpy().tolist() == [[19, 22], [43, 50]]
    assert nt.tensor([[1, 2], [3, 4], [5, 6]]).dot([7, 8]).numpy().tolist() == [23, 53, 83]
    assert nt.tensor([1, 2]).dot([[1, 3, 5], [2, 4, 6]]).numpy().tolist() == [5, 11, 17]
    assert float(nt.tensor([1, 2, 3]).dot([4, 5, 6]).numpy()) == 32
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3\) and \(2, 3\) not aligned"):
        nt.tensor(np.ones((2, 3))).dot(np.ones((2, 3)))


def test_broadcasting_reductions_and_activations():
    x = nt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (x + [10, 20, 30]).numpy().tolist() == [[11, 22, 33], [14, 25, 36]]
    assert (2 * x - 1).numpy()[0].tolist() == [1, 3, 5]
    assert (x > 2.5).numpy().tolist() == [[0, 0, 1], [1, 1, 1]]
    assert x.sum(axis=0).numpy().tolist() == [5, 7, 9] and float(x.sum().numpy()) == 21
    assert x.argmax(axis=1).tolist() == [2, 2] and x.argmax() == 5
    np.testing.assert_allclose(nt.tensor([0.3, 2.9, 4.0]).softmax().numpy(), [0.01821127, 0.24519181, 0.73659691], rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        x + np.ones((4,))
