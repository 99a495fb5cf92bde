"""The notes' worked examples, through the package: activations and the 3-layer forward pass."""

import numpy as np
import pytest

import neurite as nt


def test_sigmoid_and_softmax_values_of_the_notes():
    np.testing.assert_allclose(nt.activations.sigmoid([-1.0, 1.0, 2.0]), [0.26894142, 0.73105858, 0.88079708], rtol=1e-6)
    np.testing.assert_allclose(nt.activations.softmax([0.3, 2.9, 4.0]), [0.01821127, 0.24519181, 0.73659691], rtol=1e-6)
    big = nt.activations.softmax([1010.0, 1000.0, 990.0])
    assert np.all(np.isfinite(big)) and abs(big.sum() - 1.0) < 1e-6
    assert nt.activations.step(np.array([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 1.0]
    np.testing.assert_allclose(nt.activations.derivative("sigmoid", [0.0]), [0.25])
    assert nt.activations.relu(np.array([[-1, 2]], dtype=np.int64)).dtype == np.float32


def test_three_layer_forward_pass_of_the_notes():
    model = nt.Sequential(
        [
            nt.layers.Dense(3, activation="sigmoid", input_shape=(2,)),
            nt.layers.Dense(2, activation=nt.activations.sigmoid),
            nt.layers.Dense(2),
        ]
    )
    model.set_weights(
        [
            np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]),
            np.array([0.1, 0.2, 0.3]),
            np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]),
            np.array([0.1, 0.2]),
            np.array([[0.1, 0.3], [0.2, 0.4]]),
            np.array([0.1, 0.2]),
        ]
    )
    y = model.predict(np.array([[1.0, 0.5]]))
    assert y.dtype == np.float32 and y.shape == (1, 2)
    np.testing.assert_allclose(y[0], [0.31682708, 0.69627909], rtol=1e-6)
    first = nt.Sequential([nt.layers.Dense(3, activation="sigmoid", input_shape=(2,))])
    first.set_weights(model.layers[0].get_weights())
    np.testing.assert_allclose(first.predict([[1.0, 0.5]])[0], [0.57444252, 0.66818777, 0.75026011], rtol=1e-6)


def test_summary_counts_the_seed_models_parameters(capsys):
    model = nt.Sequential([nt.layers.Dense(50, activation="sigmoid", input_shape=(784,)), nt.layers.Dense(10, activation="softmax")])
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 50)" in out and "39,250" in out and "510" in out and "Total params: 39,760" in out
    assert model.count_params() == 39760


def test_bad_weights_are_refused_with_their_shapes():
    model = nt.Sequential([nt.layers.Dense(3, input_shape=(2,))])
    with pytest.raises(ValueError, match="dense/kernel"):
        model.set_weights([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="2 arrays"):
        model.set_weights([np.zeros((2, 3))])
