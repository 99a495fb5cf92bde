#!/usr/bin/env python3
"""PyTorch's side of the inference workload: the seed model (784-50 sigmoid, 10) applied to
the 10,000 MNIST test images with `model(x)` under no_grad; prints the median of REPS timed
calls after a warm-up. Weights do not change the time, so the model is not trained.
Usage: bench/torch_inference.py DATA_DIR [REPS]"""
import gzip, os, statistics, sys, time
import numpy as np, torch
d = sys.argv[1]; reps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
x = np.frombuffer(gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz")).read(), np.uint8, offset=16).reshape(-1, 784)
x = torch.tensor(x / 255.0, dtype=torch.float32)
model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.Sigmoid(), torch.nn.Linear(50, 10), torch.nn.Softmax(dim=1))
times = []
with torch.no_grad():
    model(x)
    for _ in range(reps):
        t = time.perf_counter(); model(x); times.append(time.perf_counter() - t)
print(f"RESULT framework=pytorch-{torch.__version__} threads={torch.get_num_threads()} inference_seconds={statistics.median(times):.5f} reps={reps}")
