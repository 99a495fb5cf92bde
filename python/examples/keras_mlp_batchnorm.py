"""The learner's next Keras program after the notes' MLP: batch normalisation and dropout.
Written as one writes it for Keras, with the import changed:
``from tensorflow import keras`` / ``from tensorflow.keras import layers`` became the two
neurite lines below. Trains 784-256(relu) -> BatchNormalization -> Dropout(0.3) -> 10(softmax)
with Adam, batch 128, 3 epochs on MNIST, then saves the model and exports it to ONNX and to a
PyTorch state_dict (the files go to $OUT_DIR, or the current folder)."""

import os

import neurite as keras
from neurite import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(256, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ]
)
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=3, verbose=2)
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test_loss: {test_loss:.4f} test_accuracy: {test_accuracy:.4f}")

out = os.environ.get("OUT_DIR", ".")
model.save(os.path.join(out, "mlp_bn.safetensors"))
model.export(os.path.join(out, "mlp_bn.onnx"))
model.export(os.path.join(out, "mlp_bn_state_dict.safetensors"), format="torch")
