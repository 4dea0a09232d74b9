"""Dynamic batching: concurrent requests stacked into one run give the
outputs each would get alone, and the metrics show runs that served several."""
import threading

import numpy as np
import pytest

from conftest import Server, digit_doc, logits_of, read_f32
from test_serve import metric

INFER = "/v2/models/digits/infer"


@pytest.fixture(scope="module", params=["sparse", "dense", "auto"])
def servers(repo, request):
    """An unbatched and a batching server in one matmul mode."""
    mode = ["--mode", request.param]
    plain = Server(repo, *mode)
    batched = Server(repo, *mode, "--max-batch-delay-us", "5000", "--max-batch-size", "32")
    yield request.param, plain, batched
    for s in (plain, batched):
        assert s.stop() == 0, s.log()


def requests():
    """Single digits and multi-row requests (1 to 4 rows) from the bundled
    inputs, so batches mix row counts."""
    rows = read_f32("batch_16.bin", (16, 64))
    out = [read_f32("input_%d.bin" % i, (1, 64)) for i in range(8)]
    out += [rows[i:i + 1 + i % 4] for i in range(0, 16, 2)]
    return out


def run_concurrently(server, xs, rounds):
    results, failures = {}, []

    def client(k):
        conn = server.connect()
        try:
            for r in range(rounds):
                status, doc = server.infer(INFER, digit_doc(xs[k]), conn)
                if status != 200:
                    failures.append((k, r, status, doc))
                else:
                    results.setdefault(k, []).append(logits_of(doc))
        except Exception as e:  # noqa: BLE001
            failures.append((k, repr(e)))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    return results


def test_batched_outputs_equal_unbatched(servers):
    mode, plain, batched = servers
    xs = requests()
    alone = {k: logits_of(plain.infer(INFER, digit_doc(x))[1]) for k, x in enumerate(xs)}
    got = run_concurrently(batched, xs, rounds=10)
    for k, outs in got.items():
        assert len(outs) == 10
        for o in outs:
            if mode != "sparse":
                # oneDNN picks its kernel by row count, and in auto a batch's
                # density may pick the other path than a lone row (dense for
                # the union, sparse for one row): the sums are rounded in
                # another order, about 1 ulp apart, never more than this.
                np.testing.assert_allclose(o, alone[k], atol=1e-5, rtol=0,
                                           err_msg="request %d" % k)
                assert o.argmax(axis=1).tolist() == alone[k].argmax(axis=1).tolist()
            else:
                # Exact: each row keeps its own active set, and the sparse
                # kernels add the same terms in the same order at any batch
                # size.
                np.testing.assert_array_equal(o, alone[k], err_msg="request %d" % k)
    assert "dynamic batching on" in batched.log()


def test_batches_formed(servers):
    _, _, batched = servers
    run_concurrently(batched, requests(), rounds=5)
    _, _, body = batched.request("GET", "/metrics")
    text = body.decode()
    v2 = dict(model="digits", version="2")
    runs = metric(text, "sparse_infer_batch_size_count", **v2)
    served = metric(text, "sparse_infer_batch_size_sum", **v2)
    assert served == metric(text, "sparse_infer_requests_total", **v2, outcome="ok")
    assert runs < served, "no run served more than one request"
    assert metric(text, "sparse_infer_queue_time_us_count", **v2) == served
