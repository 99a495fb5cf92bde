"""Note 002's logistic regression from Python on the bundled 8x8 digits: "is it a 5?" and
ten one-vs-all models, checked against NumPy's own arithmetic on their weights."""

import numpy as np
import pytest

import neurite as nt


@pytest.fixture(scope="module")
def digits():
    return nt.datasets.digits.load_data()


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_is_it_a_5(digits, tmp_path):
    (x, y), (xt, yt) = digits
    fives = nt.teach.DigitDetector(5, epochs=50).fit(x, y)
    assert fives.coef_.shape == (64,) and fives.pixel_ is None
    # The model is sigmoid(x . w + b) on grey levels scaled by the brightest (16).
    p = fives.predict_proba(xt)
    expected = sigmoid(xt.reshape(len(xt), 64) / 16.0 @ fives.coef_ + fives.intercept_)
    np.testing.assert_allclose(p, expected, rtol=1e-4, atol=1e-6)
    yes = fives.predict(xt)
    assert yes.dtype == bool and (yes == (p > 0.5)).all()
    truth = yt == 5
    s = fives.scores(xt, yt)
    assert s["accuracy"] == pytest.approx(np.mean(yes == truth))
    assert s["precision"] == pytest.approx(np.sum(yes & truth) / np.sum(yes))
    assert s["recall"] == pytest.approx(np.sum(yes & truth) / np.sum(truth))
    assert s["accuracy"] > 0.95 and s["recall"] > 0.75, s
    assert fives.score(xt, yt) == s["accuracy"]
    assert len(fives.history_["loss"]) == 50 and len(fives.history_["val_accuracy"]) == 50
    nt.plot.weights(fives, tmp_path / "fives.png", image_shape=(8, 8))
    assert (tmp_path / "fives.png").read_bytes()[:4] == b"\x89PNG"


def test_one_pixel_is_worse_than_all(digits):
    (x, y), (xt, yt) = digits
    one = nt.teach.DigitDetector(5, pixel="best", epochs=50).fit(x, y)
    assert isinstance(one.pixel_, int) and one.coef_.shape == (1,)
    # "best": the pixel whose mean grey level differs most between 5s and the rest.
    rows = x.reshape(len(x), 64).astype(float)
    gap = np.abs(rows[y == 5].mean(axis=0) - rows[y != 5].mean(axis=0))
    assert one.pixel_ == int(np.argmax(gap))
    p = one.predict_proba(xt)
    column = xt.reshape(len(xt), 64)[:, one.pixel_] / 16.0
    np.testing.assert_allclose(p, sigmoid(column * one.coef_[0] + one.intercept_), rtol=1e-4, atol=1e-6)
    all_pixels = nt.teach.DigitDetector(5, epochs=50).fit(x, y)
    assert one.scores(xt, yt)["recall"] < all_pixels.scores(xt, yt)["recall"]
    chosen = nt.teach.DigitDetector(5, pixel=one.pixel_, epochs=50).fit(x, y)
    np.testing.assert_array_equal(chosen.coef_, one.coef_)


def test_one_vs_all(digits, tmp_path):
    (x, y), (xt, yt) = digits
    ova = nt.teach.OneVsAll(epochs=20).fit(x, y)
    assert ova.classes_ == 10 and ova.coef_.shape == (64, 10) and ova.intercept_.shape == (10,)
    p = ova.predict_proba(xt)
    expected = sigmoid(xt.reshape(len(xt), 64) / 16.0 @ ova.coef_ + ova.intercept_)
    np.testing.assert_allclose(p, expected, rtol=1e-4, atol=1e-6)
    predicted = ova.predict(xt)
    np.testing.assert_array_equal(predicted, p.argmax(axis=1))
    cm = ova.confusion_matrix(xt, yt)
    assert cm.shape == (10, 10) and cm.sum() == len(yt)
    for actual, guess in zip(yt[:50], predicted[:50]):
        assert cm[actual, guess] > 0
    assert ova.score(xt, yt) == pytest.approx(np.trace(cm) / cm.sum())
    assert ova.score(xt, yt) > 0.9
    # Floats in 0..1 are the same grey levels: x / 16 with max_value 16 trains the same model.
    again = nt.teach.OneVsAll(epochs=20, max_value=16).fit(x / 16.0, y)
    np.testing.assert_array_equal(again.coef_, ova.coef_)
    nt.plot.weights(ova, tmp_path / "ova.png", image_shape=(8, 8))
    assert (tmp_path / "ova.png").stat().st_size > 1000
    ova.save(tmp_path / "ova.safetensors")
    loaded = nt.models.load_model(tmp_path / "ova.safetensors")
    np.testing.assert_allclose(loaded.predict(xt.reshape(-1, 64) / 16.0, verbose=0), p, rtol=1e-5)


def test_bad_input(digits):
    (x, y), (xt, yt) = digits
    with pytest.raises(ValueError, match="not fitted"):
        nt.teach.OneVsAll().predict(xt)
    with pytest.raises(ValueError, match="expected 10 class labels"):
        nt.teach.DigitDetector(5).fit(x[:10], y[:9])
    with pytest.raises(ValueError, match="not a class index"):
        nt.teach.OneVsAll().fit(x[:10], np.full(10, 2.5))
    with pytest.raises(ValueError, match="digit 5 is not one of the 3 classes"):
        nt.teach.DigitDetector(5).fit(x[:10], np.arange(10) % 3)
    ova = nt.teach.OneVsAll(epochs=1).fit(x, y)
    with pytest.raises(ValueError, match="63 features per example, the model was fitted on 64"):
        ova.predict(xt.reshape(len(xt), 64)[:, :63])
    with pytest.raises(ValueError, match="value 1.5 .* is not in 0..1"):
        ova.predict(np.full((2, 64), 1.5))
    with pytest.raises(ValueError, match="dtype <U1 and shape \\(2,\\)"):
        ova.predict(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="pixel 64 is not one of the 64 pixels"):
        nt.teach.DigitDetector(5, pixel=64).fit(x, y)
    with pytest.raises(ValueError, match="learning_rate"):
        nt.teach.OneVsAll(learning_rate=-1.0)
