"""Python threads on one session: run releases the GIL, results are bit-identical."""
import threading

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
