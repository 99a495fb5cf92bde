"""What Jupyter shows: pictures as PNG (``_repr_png_``) and models as Keras' summary in HTML
(``_repr_html_``), as the tutorials (docs/tutorials) display them inline."""

import struct
import zlib

import numpy as np
import pytest

import neurite as nt

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(data):
    """(width, height) from a PNG's IHDR chunk, after checking the signature and the chunk's CRC."""
    assert data[:8] == PNG
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29]) & 0xFFFFFFFF
    assert data.endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def digits_model():
    (x, y), _ = nt.datasets.digits.load_data()
    model = nt.Sequential([nt.layers.Dense(10, activation="softmax", input_shape=(64,))], name="digits")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x.reshape(-1, 64) / 16.0, y, epochs=2, validation_split=0.2, verbose=0)
    return model, history


def test_pictures_show_themselves_as_png(digits_model, tmp_path):
    model, history = digits_model
    for picture in [
        nt.plot.history(history),
        nt.plot.activation("sigmoid"),
        nt.plot.weights(model, image_shape=(8, 8)),
    ]:
        assert isinstance(picture, nt.plot.Picture) and picture.format == "png"
        data = picture._repr_png_()
        width, height = png_size(data)
        assert (width, height) == picture.size and width > 100 and height > 100
        assert picture._repr_svg_() is None and picture.path is None
    # With a path the file is written and the picture is its bytes.
    written = nt.plot.activation("relu", tmp_path / "relu.png")
    assert written.path == str(tmp_path / "relu.png")
    assert (tmp_path / "relu.png").read_bytes() == written._repr_png_()
    svg = nt.plot.activation("tanh", tmp_path / "tanh.svg")
    assert svg.format == "svg" and svg._repr_png_() is None and "<svg" in svg._repr_svg_()[:200]
    assert svg.size is None


def test_the_same_picture_in_memory_and_in_a_file(digits_model, tmp_path):
    model, _ = digits_model
    in_memory = nt.plot.weights(model, image_shape=(8, 8))
    on_disk = nt.plot.weights(model, tmp_path / "w.png", image_shape=(8, 8))
    assert in_memory.data == on_disk.data


def test_picture_from_array_is_a_valid_png_of_the_right_size():
    rgb = np.zeros((30, 50, 3), dtype=np.uint8)
    rgb[:, :25] = (255, 0, 0)
    picture = nt.plot.Picture.from_array(rgb)
    assert png_size(picture._repr_png_()) == (50, 30) == picture.size
    # The pixels come back: decompress the one IDAT chunk (filter byte 0 on each row).
    data = picture.data
    start = 33
    length, kind = struct.unpack(">I4s", data[start : start + 8])
    assert kind == b"IDAT"
    raw = zlib.decompress(data[start + 8 : start + 8 + length])
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(30, 1 + 50 * 3)
    assert (rows[:, 0] == 0).all()
    np.testing.assert_array_equal(rows[:, 1:].reshape(30, 50, 3), rgb)
    grey = nt.plot.Picture.from_array(np.linspace(0, 1, 12).reshape(3, 4))
    assert grey.size == (4, 3)
    with pytest.raises(ValueError, match="shape"):
        nt.plot.Picture.from_array(np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="PNG"):
        nt.plot.Picture(b"not a png", "png")


def test_decision_regions_colour_the_classes():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 0, 0, 1])
    p = nt.teach.Perceptron(eta=0.1, n_iter=10).fit(x, y)
    picture = nt.plot.decision_regions(p.predict, x, y, resolution=64)
    assert png_size(picture._repr_png_()) == (64, 64)
    with pytest.raises(ValueError, match="X must be"):
        nt.plot.decision_regions(p.predict, np.zeros((4, 3)), y)


def test_conv_pictures():
    (x, y), _ = nt.datasets.digits.load_data()
    model = nt.Sequential(
        [
            nt.Input(shape=(8, 8, 1)),
            nt.layers.Conv2D(4, kernel_size=3, activation="relu"),
            nt.layers.MaxPooling2D(2),
            nt.layers.Flatten(),
            nt.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    images = (x / 16.0).reshape(-1, 8, 8, 1)
    model.fit(images[:200], y[:200], epochs=1, verbose=0)
    filters = nt.plot.conv_filters(model)
    maps = nt.plot.feature_maps(model, images[0], label=y[0])
    for picture in (filters, maps):
        width, height = png_size(picture._repr_png_())
        assert width > 50 and height > 50
    dense = nt.Sequential([nt.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError):
        nt.plot.conv_filters(dense)


def test_a_model_shows_its_summary_as_an_html_table(digits_model):
    model, _ = digits_model
    html = model._repr_html_()
    assert html.startswith("<div>") and html.endswith("</div>")
    assert "<table" in html and "</table>" in html and 'Model: &quot;digits&quot;' in html
    assert html.count("<tr>") == 2  # the header and one layer
    assert "Dense" in html and "(None, 10)" in html and "650" in html
    assert "Total params: 650" in html and "Trainable params: 650" in html and "softmax" in html

    mlp = nt.Sequential(
        [
            nt.layers.Dense(50, activation="sigmoid", input_shape=(784,)),
            nt.layers.BatchNormalization(),
            nt.layers.Dense(10, activation="softmax"),
        ]
    )
    html = mlp._repr_html_()
    assert "39,250" in html and "510" in html and html.count("<tr>") == 4
    # BatchNormalization's moving mean and variance are counted but not trained, as in Keras.
    assert "Total params: 39,960" in html and "Trainable params: 39,860" in html
    assert "Non-trainable params: 100" in html

    unbuilt = nt.Sequential([nt.layers.Dense(3)], name="<b>")
    html = unbuilt._repr_html_()
    assert "not built yet" in html and "&lt;b&gt;" in html and "<b>Model" in html
