"""SIGTERM and SIGINT stop the server cleanly: requests in flight are
answered, the process exits 0 and says so."""
import signal
import threading
import time

import pytest

from conftest import Server, digit_doc, read_f32


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_under_load(repo, sig):
    server = Server(repo)
    x = read_f32("input_0.bin", (1, 64))
    assert server.infer("/v2/models/digits/infer", digit_doc(x))[0] == 200
    statuses, stop = [], threading.Event()

    def client():
        while not stop.is_set():
            try:
                statuses.append(server.infer("/v2/models/digits/infer", digit_doc(x))[0])
            except OSError:  # refused once the listener closed
                return

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    assert server.stop(sig) == 0, server.log()
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    # Every request answered before the stop was answered in full.
    assert statuses and set(statuses) == {200}
    assert any("received" in l and "stopping" in l for l in server.lines)
    assert server.lines[-1].endswith("shutdown complete"), server.log()
