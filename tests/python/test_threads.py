"""Python threads on one session: run releases the GIL, results are bit-identical."""
import sys
import threading
import time

import numpy as np

import sparse_infer
from conftest import read_f32

THREADS = 8
CALLS = 25


def test_eight_threads_bit_identical(digits_path):
    so = sparse_infer.SessionOptions()
    so.intra_op_num_threads = 1  # parallel across calls, as a service runs
    sess = sparse_infer.InferenceSession(digits_path, so)
    batch = read_f32("batch_16.bin", (16, 64))
    # Batch 1 and 16 take different kernels; each must be identical everywhere.
    feeds = [{"input": batch[:1].copy()}, {"input": batch}]
    want = [sess.run(None, f)[0] for f in feeds]
    results = [[] for _ in range(THREADS)]
    errors = []
    start = threading.Barrier(THREADS)

    def worker(t):
        try:
            start.wait()
            for c in range(CALLS):
                results[t].append(sess.run(None, feeds[(t + c) % 2])[0])
        except Exception as e:  # reported below, with the thread
            errors.append((t, e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for t in range(THREADS):
        assert len(results[t]) == CALLS
        for c, got in enumerate(results[t]):
            assert got.tobytes() == want[(t + c) % 2].tobytes(), (t, c)


def test_run_releases_the_gil(tmp_path):
    """While one thread is inside run, another runs Python code. With the GIL
    held through the call it could not: its ticks would all fall within a
    switch interval or two of the call's ends, none in the middle half."""
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    layers = []
    for _ in range(4):
        layers += [nn.Linear(1024, 1024), nn.ReLU()]
    path = str(tmp_path / "wide.onnx")
    torch.onnx.export(nn.Sequential(*layers).eval(), torch.zeros(1, 1024), path,
                      input_names=["x"], dynamic_axes={"x": {0: "n"}}, opset_version=17)
    so = sparse_infer.SessionOptions()
    so.intra_op_num_threads = 1
    so.mode = "dense"
    sess = sparse_infer.InferenceSession(path, so)
    feed = {"x": np.random.default_rng(0).standard_normal((2048, 1024)).astype(np.float32)}
    sess.run(None, feed)  # one-time work out of the way
    span = {}
    done = threading.Event()

    def worker():
        span["start"] = time.perf_counter()
        sess.run(None, feed)  # one call: between calls Python would switch anyway
        span["end"] = time.perf_counter()
        done.set()

    ticks = []
    th = threading.Thread(target=worker)
    th.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
    th.join()
    start, end = span["start"], span["end"]
    quarter = (end - start) / 4
    assert quarter > 4 * sys.getswitchinterval(), f"one run took {end - start:.3f} s: too short"
    middle = [t for t in ticks if start + quarter < t < end - quarter]
    assert len(middle) >= 10, (len(middle), len(ticks), end - start)
