# The notes' Keras program (seed note 004), as written there, on neurite: the only change is
# the import line, `import neurite as keras` in place of `from tensorflow import keras`
# (the notebook's `import tensorflow as tf` and `import matplotlib.pyplot as plt`, unused in
# this cell, are left out). MNIST is read from $NEURITE_DATA, ./data/mnist or the cache, and
# downloaded there when missing, as Keras does.
import neurite as keras
import numpy as np

# MNIST 데이터 로드 혹은 다운로드
mnist = keras.datasets.mnist
(x_train, y_train), (x_test, y_test) = mnist.load_data()   

# 데이터 가공
x_train_norm, x_test_norm = x_train / 255.0, x_test / 255.0
x_train_reshaped = x_train_norm.reshape(-1, x_train_norm.shape[1]*x_train_norm.shape[2])
x_test_reshaped = x_test_norm.reshape(-1, x_test_norm.shape[1]*x_test_norm.shape[2])

# 딥러닝 모델 구성 2개의 다층 퍼셉트론(MLP)으로 이루어져 있음
model=keras.models.Sequential()
model.add(keras.layers.Dense(50, activation='sigmoid', input_shape=(784,)))  # 입력층 d=784, 은닉층 레이어 H=50
model.add(keras.layers.Dense(10, activation='softmax'))   # 출력층 레이어 K=10
model.summary()

# 모델 구성, 학습
model.compile(optimizer='adam',
             loss='sparse_categorical_crossentropy',
             metrics=['accuracy'])
model.fit(x_train_reshaped, y_train, epochs=10)

# 모델 테스트 결과
test_loss, test_accuracy = model.evaluate(x_test_reshaped,y_test, verbose=2)
print("test_loss: {} ".format(test_loss))
print("test_accuracy: {}".format(test_accuracy))
