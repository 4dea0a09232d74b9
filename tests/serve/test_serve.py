"""sparse-infer serve end to end: every endpoint, JSON and binary infer
against PyTorch's reference, every error status, 16 concurrent clients, and
the metrics they leave."""
import json
import re
import struct
import threading

import numpy as np
import pytest

from conftest import digit_doc, logits_of, read_f32

# The engine is held to 1e-4 against PyTorch (models/make_digits_mlp.py).
TOL = 1e-4
INFER = "/v2/models/digits/infer"


def test_health_and_server_metadata(server):
    assert server.get_json("/v2/health/live") == (200, {"live": True})
    assert server.get_json("/v2/health/ready") == (200, {"ready": True})
    status, meta = server.get_json("/v2")
    assert status == 200 and meta["name"] == "sparse-infer"
    assert "binary_tensor_data" in meta["extensions"] and meta["version"]


@pytest.mark.parametrize("path", ["/v2/models/digits", "/v2/models/digits/versions/1"])
def test_model_metadata(server, path):
    status, meta = server.get_json(path)
    assert status == 200
    assert meta == {
        "name": "digits", "versions": ["1", "2"], "platform": "onnx_onnxv1",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}],
        "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 10]}],
    }


def test_model_ready(server):
    for path in ("/v2/models/digits/ready", "/v2/models/digits/versions/2/ready"):
        assert server.get_json(path) == (200, {"ready": True})
    status, doc = server.get_json("/v2/models/broken/ready")
    assert status == 503 and "not ready" in doc["error"]
    assert server.get_json("/v2/models/nope/ready")[0] == 404


def test_broken_model_reported_at_start(server):
    (line,) = [l for l in server.lines if "broken" in l and "failed to load" in l]
    assert "broken/1/model.onnx" in line and "not a valid ONNX model" in line


@pytest.mark.parametrize("path", [INFER, "/v2/models/digits/versions/1/infer"])
def test_json_infer_is_a_two(server, path):
    x = read_f32("input_0.bin", (1, 64))
    status, doc = server.infer(path, digit_doc(x, id="req-7"))
    assert status == 200, doc
    assert doc["id"] == "req-7" and doc["model_name"] == "digits"
    assert doc["model_version"] == ("1" if "versions/1" in path else "2")  # latest by default
    (out,) = doc["outputs"]
    assert out["name"] == "logits" and out["datatype"] == "FP32" and out["shape"] == [1, 10]
    logits = logits_of(doc)
    np.testing.assert_allclose(logits, read_f32("expected_0.bin", (1, 10)), atol=TOL, rtol=0)
    assert int(logits.argmax()) == 2


def test_nested_data_batch_and_output_selection(server):
    x = read_f32("batch_16.bin", (16, 64))
    doc = digit_doc(x, outputs=[{"name": "logits"}], parameters={"custom": 1})
    doc["inputs"][0]["data"] = x.tolist()  # nested rows
    status, out = server.infer(INFER, doc)
    assert status == 200, out
    np.testing.assert_allclose(logits_of(out), read_f32("expected_batch_16.bin", (16, 10)),
                               atol=TOL, rtol=0)


def binary_request(x, outputs_binary):
    raw = x.astype("<f4").tobytes()
    header = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                          "parameters": {"binary_data_size": len(raw)}}]}
    if outputs_binary == "request":
        header["parameters"] = {"binary_data_output": True}
    elif outputs_binary == "output":
        header["outputs"] = [{"name": "logits", "parameters": {"binary_data": True}}]
    h = json.dumps(header).encode()
    return h + raw, {"Inference-Header-Content-Length": str(len(h)),
                     "Content-Type": "application/octet-stream"}


@pytest.mark.parametrize("outputs_binary", ["request", "output", "json"])
def test_binary_infer(server, outputs_binary):
    x = read_f32("input_0.bin", (1, 64))
    body, headers = binary_request(x, outputs_binary)
    status, rh, rb = server.request("POST", INFER, body, headers)
    assert status == 200, rb
    want = read_f32("expected_0.bin", (1, 10))
    if outputs_binary == "json":
        assert "Inference-Header-Content-Length" not in rh
        np.testing.assert_allclose(logits_of(json.loads(rb)), want, atol=TOL, rtol=0)
        return
    n = int(rh["Inference-Header-Content-Length"])
    doc = json.loads(rb[:n])
    (out,) = doc["outputs"]
    assert out["parameters"]["binary_data_size"] == 40 and "data" not in out
    logits = np.frombuffer(rb[n:], dtype="<f4").reshape(out["shape"])
    np.testing.assert_allclose(logits, want, atol=TOL, rtol=0)
    # Binary and JSON carry the same floats.
    _, js = server.infer(INFER, digit_doc(x))
    np.testing.assert_array_equal(logits, logits_of(js))


def error_cases():
    x = read_f32("input_0.bin", (1, 64))
    good = digit_doc(x)
    shape = digit_doc(x.reshape(1, 64)[:, :63])
    dtype = digit_doc(x)
    dtype["inputs"][0].update(datatype="INT64", data=[0] * 64)
    fp16 = digit_doc(x)
    fp16["inputs"][0]["datatype"] = "FP16"
    short = digit_doc(x)
    short["inputs"][0]["data"] = [0.0] * 63
    missing = {"inputs": []}
    unknown_out = dict(good, outputs=[{"name": "nope"}])
    bin_body, bin_headers = binary_request(x, "request")
    return [
        ("bad json", "POST", INFER, b'{"inputs": [', {}, 400),
        ("not an object", "POST", INFER, b"[1, 2]", {}, 400),
        ("wrong shape", "POST", INFER, json.dumps(shape).encode(), {}, 400),
        ("wrong dtype", "POST", INFER, json.dumps(dtype).encode(), {}, 400),
        ("unsupported dtype", "POST", INFER, json.dumps(fp16).encode(), {}, 400),
        ("too few elements", "POST", INFER, json.dumps(short).encode(), {}, 400),
        ("missing input", "POST", INFER, json.dumps(missing).encode(), {}, 400),
        ("unknown output", "POST", INFER, json.dumps(unknown_out).encode(), {}, 400),
        ("binary cut short", "POST", INFER, bin_body[:-4], bin_headers, 400),
        ("header length past body", "POST", INFER, bin_body,
         dict(bin_headers, **{"Inference-Header-Content-Length": "99999"}), 400),
        ("unknown model", "POST", "/v2/models/nope/infer", json.dumps(good).encode(), {}, 404),
        ("unknown version", "POST", "/v2/models/digits/versions/3/infer",
         json.dumps(good).encode(), {}, 404),
        ("unknown route", "GET", "/v2/models/digits/stats", None, {}, 404),
        ("oversized", "POST", INFER, b" " * (2 << 20), {}, 413),
        ("not ready", "POST", "/v2/models/broken/infer", json.dumps(good).encode(), {}, 503),
    ]


@pytest.mark.parametrize("case", error_cases(), ids=lambda c: c[0])
def test_errors_are_json_and_leave_the_server_ready(server, case):
    _, method, path, body, headers, want = case
    status, _, rb = server.request(method, path, body, headers)
    assert status == want, rb
    assert json.loads(rb)["error"]
    assert server.get_json("/v2/health/ready") == (200, {"ready": True})
    assert server.get_json("/v2/models/digits/ready")[0] == 200


def test_sixteen_clients_fifty_requests_each(server):
    inputs = [read_f32("input_%d.bin" % i, (1, 64)) for i in range(8)]
    want = [read_f32("expected_%d.bin" % i, (1, 10)) for i in range(8)]
    failures = []

    def client(k):
        conn = server.connect()  # one keep-alive connection per client
        try:
            for i in range(50):
                j = (k + i) % 8
                status, doc = server.infer(INFER, digit_doc(inputs[j]), conn)
                if status != 200:
                    failures.append((k, i, status, doc))
                    continue
                if not np.allclose(logits_of(doc), want[j], atol=TOL, rtol=0):
                    failures.append((k, i, "wrong logits"))
        except Exception as e:  # noqa: BLE001 - report, don't hang the join
            failures.append((k, repr(e)))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    for line in text.splitlines():
        m = re.match(r"(\w+)\{(.*)\} (\S+)$", line)
        if m and m.group(1) == name and m.group(2) == want:
            return float(m.group(3))
    raise KeyError(name + "{" + want + "}")


def test_metrics_count_requests(server):
    def scrape():
        status, headers, body = server.request("GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        return body.decode()

    v1 = dict(model="digits", version="1")
    before = scrape()
    x = read_f32("input_0.bin", (1, 64))
    for _ in range(20):
        assert server.infer("/v2/models/digits/versions/1/infer", digit_doc(x))[0] == 200
    bad = digit_doc(x.reshape(1, 64)[:, :32])
    for _ in range(3):
        assert server.infer("/v2/models/digits/versions/1/infer", bad)[0] == 400
    after = scrape()
    d = lambda name, **l: metric(after, name, **l) - metric(before, name, **l)  # noqa: E731
    assert d("sparse_infer_requests_total", **v1, outcome="ok") == 20
    assert d("sparse_infer_requests_total", **v1, outcome="failed") == 3
    assert d("sparse_infer_compute_time_us_count", **v1) == 23  # the session saw the bad ones
    assert d("sparse_infer_batch_size_count", **v1) == 23
    assert d("sparse_infer_queue_time_us_count", **v1) == 23
    assert metric(after, "sparse_infer_compute_time_us_bucket", **v1, le="+Inf") == \
        metric(after, "sparse_infer_compute_time_us_count", **v1)
    assert metric(after, "sparse_infer_requests_total", model="broken", version="1",
                  outcome="failed") >= 1
    # The sampled matmul work: some runs were profiled, and the share is a fraction.
    assert metric(after, "sparse_infer_profiled_runs_total", **v1) >= 1
    share = metric(after, "sparse_infer_matmul_sparse_share", **v1)
    assert 0.0 <= share <= 1.0
    for family in ("requests_total", "queue_time_us", "compute_time_us", "batch_size"):
        assert after.count("# TYPE sparse_infer_" + family + " ") == 1


def test_chunked_body_over_the_limit_is_413(server):
    # No Content-Length to refuse up front: the server stops reading at the limit.
    chunks = (b" " * 65536 for _ in range(32))  # 2 MiB against the 1 MiB limit
    conn = server.connect()
    try:
        conn.request("POST", INFER, body=chunks, encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
        r = conn.getresponse()
        assert r.status == 413 and json.loads(r.read())["error"]
    finally:
        conn.close()
    assert server.get_json("/v2/health/ready") == (200, {"ready": True})


def test_overload_past_max_concurrency_is_503(repo):
    from conftest import Server
    s = Server(repo, "--max-concurrency", "1")
    try:
        # 20000 rows: a run of tens of ms, so concurrent requests overlap.
        x = np.tile(read_f32("batch_16.bin", (16, 64)), (1250, 1))
        body, headers = binary_request(x, "request")
        statuses, errors = [], []

        def client():
            for _ in range(3):
                status, _, rb = s.request("POST", INFER, body, headers)
                statuses.append(status)
                if status != 200:
                    errors.append(json.loads(rb)["error"])

        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert set(statuses) == {200, 503}, statuses
        assert all("--max-concurrency" in e for e in errors)
        assert s.get_json("/v2/health/ready") == (200, {"ready": True})
    finally:
        assert s.stop() == 0
