#!/usr/bin/python3
"""Load benchmark of `sparse-infer serve` (not a test): requests/s and
latency p50/p99 at 1, 4 and 16 concurrent clients, dynamic batching off and
on, for the bundled digits MLP and, with --ffn DIR, an FFN stack made by
models/make_ffn_stack.py.

    /usr/bin/python3 bench/serve_load.py --binary build-test/tools/sparse-infer \
        [--ffn DIR] [--seconds 5] [--delay-us 500] [--markdown bench/RESULTS_SERVE.md]

Clients are processes (no GIL between them), each on one keep-alive
connection, sending binary tensors (Triton's extension) so that the client's
JSON work stays small. Clients and server share this machine's cores: for a
model as small as the MLP the clients' own cost is part of what is measured.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_server(binary, repo, extra, log_path):
    """The server with its stderr in log_path (printed at the end when it
    holds errors)."""
    cmd = [binary, "serve", "--model-repository", repo, "--http-address", "127.0.0.1",
           "--http-port", "0", *extra]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stderr=log)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(log_path).read())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.05)
    proc.kill()
    sys.exit("server did not start: " + " ".join(cmd) + "\n" + open(log_path).read())


def body_for(x):
    raw = x.astype("<f4").tobytes()
    header = json.dumps({
        "inputs": [{"name": NAME[0], "shape": list(x.shape), "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)}}],
        "parameters": {"binary_data_output": True}}).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header)),
                          "Content-Type": "application/octet-stream"}


NAME = ["input"]


def client(port, path, bodies, seconds, start_at, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat, errors, k, what = [], 0, 0, []
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    while True:
        t0 = time.perf_counter()
        if time.time() >= end:
            break
        body, headers = bodies[k % len(bodies)]
        k += 1
        try:
            conn.request("POST", path, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            ok = r.status == 200
        except (OSError, http.client.HTTPException) as e:
            # Counted, then a fresh connection: one failure must not end the run.
            ok = False
            what.append("%s after %d requests" % (repr(e), k - 1))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        if not ok:
            errors += 1
            if len(what) < errors:
                what.append("HTTP %d" % r.status)
            continue
        lat.append(time.perf_counter() - t0)
    conn.close()
    out.put((lat, errors, what[:3]))


def measure(port, model, inputs, clients, seconds):
    bodies = [body_for(x) for x in inputs]
    q = mp.Queue()
    start_at = time.time() + 0.5
    procs = [mp.Process(target=client, args=(port, f"/v2/models/{model}/infer", bodies, seconds,
                                             start_at, q)) for _ in range(clients)]
    for p in procs:
        p.start()
    lat, errors = [], 0
    for _ in procs:
        l, e, w = q.get(timeout=seconds + 120)
        lat += l
        errors += e
        if w:
            print("client failures:", w, file=sys.stderr)
    for p in procs:
        p.join(30)
    lat = np.array(lat) * 1e6
    return {"rps": len(lat) / seconds, "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "errors": errors, "n": len(lat)}


def metric_sum(port, name, model):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and f'model="{model}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def read_pb_inputs(folder):
    import onnx
    import onnx.numpy_helper
    xs = []
    for d in sorted(os.listdir(folder)):
        p = os.path.join(folder, d, "input_0.pb")
        if d.startswith("test_data_set_") and os.path.exists(p):
            t = onnx.TensorProto()
            t.ParseFromString(open(p, "rb").read())
            xs.append(onnx.numpy_helper.to_array(t))
    return xs


def cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        return m.group(1).strip() if m else platform.processor()
    except OSError:
        return platform.processor()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--ffn", help="a folder made by models/make_ffn_stack.py")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--delay-us", type=int, default=500)
    p.add_argument("--threads", type=int, default=1, help="engine threads per run")
    p.add_argument("--markdown", help="also write the table here")
    a = p.parse_args()

    tmp = tempfile.mkdtemp()
    models = []
    os.makedirs(os.path.join(tmp, "digits", "1"))
    shutil.copy(os.path.join(REPO, "models", "digits_mlp.onnx"),
                os.path.join(tmp, "digits", "1", "model.onnx"))
    digits = [np.fromfile(os.path.join(REPO, "models", "digits_mlp", f"input_{i}.bin"),
                          "<f4").reshape(1, 64) for i in range(8)]
    models.append(("digits", "digits MLP", digits, "input"))
    if a.ffn:
        os.makedirs(os.path.join(tmp, "ffn", "1"))
        os.symlink(os.path.abspath(os.path.join(a.ffn, "model.onnx")),
                   os.path.join(tmp, "ffn", "1", "model.onnx"))
        import onnx
        name = onnx.load(os.path.join(a.ffn, "model.onnx"), load_external_data=False).graph.input[0].name
        models.append(("ffn", "FFN stack", read_pb_inputs(a.ffn), name))

    rows = []
    for batching in (False, True):
        extra = ["--threads", str(a.threads)]
        if batching:
            extra += ["--max-batch-delay-us", str(a.delay_us)]
        log_path = os.path.join(tmp, "server-%d.log" % batching)
        proc, port = start_server(a.binary, tmp, extra, log_path)
        try:
            for model, label, inputs, name in models:
                NAME[0] = name
                for clients in (1, 4, 16):
                    runs0 = metric_sum(port, "sparse_infer_batch_size_count", model)
                    served0 = metric_sum(port, "sparse_infer_batch_size_sum", model)
                    r = measure(port, model, inputs, clients, a.seconds)
                    runs = metric_sum(port, "sparse_infer_batch_size_count", model) - runs0
                    served = metric_sum(port, "sparse_infer_batch_size_sum", model) - served0
                    r.update(model=label, clients=clients,
                             batching=f"on, {a.delay_us} us" if batching else "off",
                             mean_batch=served / runs if runs else 0)
                    rows.append(r)
                    print(r, flush=True)
        finally:
            proc.send_signal(signal.SIGTERM)
            if proc.wait(60) != 0:
                print("server exited with %d" % proc.returncode, file=sys.stderr)
            errors = [l for l in open(log_path) if "error" in l]
            if errors:
                print("server errors:\n" + "".join(errors[:20]), file=sys.stderr)
    shutil.rmtree(tmp)

    lines = [f"CPU: {cpu_name()}, {os.cpu_count()} cores (clients and server share them). "
             f"Engine threads per run: {a.threads}; {a.seconds:g} s per row; binary tensors; "
             "clients are processes on one keep-alive connection each.", "",
             "| model | batching | clients | requests/s | p50 µs | p99 µs | requests per run | failed |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['batching']} | {r['clients']} | {r['rps']:.0f} | "
                     f"{r['p50']:.0f} | {r['p99']:.0f} | {r['mean_batch']:.2f} | {r['errors']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.markdown:
        open(a.markdown, "w").write(text)


if __name__ == "__main__":
    main()
