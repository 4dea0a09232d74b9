"""Fixtures of the server's end-to-end tests: a model repository in a temp
dir and `sparse-infer serve` on a free loopback port (ctest sets
SI_SERVE_BINARY and runs these with a TIMEOUT; every wait here is bounded
too)."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models")
DIGITS = os.path.join(MODELS, "digits_mlp.onnx")
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20


def read_f32(name, shape):
    return np.fromfile(os.path.join(MODELS, "digits_mlp", name), dtype="<f4").reshape(shape)


class Server:
    """One `sparse-infer serve` process; stderr is collected line by line."""

    def __init__(self, repo, *args):
        cmd = [os.environ["SI_SERVE_BINARY"], "serve", "--model-repository", str(repo),
               "--http-address", "127.0.0.1", "--http-port", "0", *args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._listening = threading.Event()
        self.port = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(START_TIMEOUT_S):
            self.proc.kill()
            raise RuntimeError("server did not start:\n" + self.log())

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self._listening.set()
        self._listening.set()  # exited early: let the waiter see it

    def log(self):
        return "\n".join(self.lines)

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, headers=None, conn=None):
        """(status, headers dict, body bytes) on a fresh connection unless given one."""
        c = conn or self.connect()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            if conn is None:
                c.close()

    def get_json(self, path):
        status, _, body = self.request("GET", path)
        return status, json.loads(body)

    def infer(self, path, doc, conn=None):
        status, headers, body = self.request("POST", path, json.dumps(doc).encode(),
                                             {"Content-Type": "application/json"}, conn)
        return status, json.loads(body)

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` (if still running) and returns the exit code, killing
        the process if it does not exit in time, then failing."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop within %d s:\n%s" % (STOP_TIMEOUT_S, self.log()))
        self._reader.join(5)
        return code


@pytest.fixture(scope="session")
def repo(tmp_path_factory):
    """digits/1 and digits/2 (the bundled MLP), and broken/1 whose model.onnx
    is not ONNX."""
    root = tmp_path_factory.mktemp("repo")
    for v in ("1", "2"):
        (root / "digits" / v).mkdir(parents=True)
        shutil.copy(DIGITS, root / "digits" / v / "model.onnx")
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "1" / "model.onnx").write_bytes(b"this is not an ONNX model")
    return root


@pytest.fixture(scope="module")
def server(repo):
    s = Server(repo, "--max-request-bytes", str(1 << 20))
    yield s
    # 0: a clean stop, and no sanitizer report (those exit non-zero).
    assert s.stop() == 0, s.log()


def digit_doc(x, **extra):
    doc = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                       "data": x.ravel().tolist()}]}
    doc.update(extra)
    return doc


def logits_of(doc):
    (out,) = [o for o in doc["outputs"] if o["name"] == "logits"]
    return np.array(out["data"], dtype=np.float32).reshape(out["shape"])
