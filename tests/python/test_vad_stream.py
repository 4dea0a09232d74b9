"""examples/vad_stream.c on a tiny Silero-style VAD exported here from
PyTorch (fixed seed): a generated 16 kHz PCM file of noise and tone bursts,
run chunk by chunk with the LSTM state carried. The printed segments must be
those of the same chunked computation in PyTorch, with the same hysteresis."""
import os
import subprocess

import numpy as np
import pytest

VAD = os.environ["VAD_STREAM"]
CHUNK, RATE, THRESHOLD = 512, 16000, 0.5


def _vad_net():
    import torch
    import torch.nn as nn

    class TinyVad(nn.Module):
        """input [1, 512] samples, state [2, 1, 8] (LSTM h and c), sr int64 ->
        output [1, 1] speech probability, stateN. Per 16-sample frame: log
        energy, then an LSTM with a slow memory; the probability leans on the
        chunk's mean log energy so that tones read as speech and noise as
        silence, and on the LSTM, so that it depends on the carried state."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 8, batch_first=True)
            self.out = nn.Linear(8, 1)
            # A slow memory, so the carried state changes the output: the
            # forget gate near 1 and the input gate small (gate order i f g o).
            with torch.no_grad():
                self.lstm.bias_ih_l0[8:16] = 6.0
                self.lstm.bias_ih_l0[0:8] = -3.0

        def forward(self, x, state, sr):
            frames = x.reshape(1, -1, 16)
            energy = torch.log(frames.pow(2).mean(-1, keepdim=True) + 1e-6)
            y, (h, c) = self.lstm(energy, (state[0:1], state[1:2]))
            scale = sr.to(torch.float32) / 16000.0
            logit = 4.0 * self.out(y[:, -1]) + energy.mean() + 7.0
            return torch.sigmoid(logit * scale), torch.cat([h, c])

    torch.manual_seed(11)
    return TinyVad().eval()


def _pcm():
    """4 s: low noise with tone bursts at 0.5-1.3 s, 2.0-2.2 s and 3.1-3.9 s."""
    rng = np.random.default_rng(4)
    t = np.arange(4 * RATE) / RATE
    x = rng.normal(0, 60, t.size)
    for a, b in [(0.5, 1.3), (2.0, 2.2), (3.1, 3.9)]:
        on = (t >= a) & (t < b)
        x[on] += 9000 * np.sin(2 * np.pi * 220 * t[on])
    return np.clip(x, -32768, 32767).astype("<i2")


def _segments(probs, n_samples):
    """vad_stream's rule: start at p >= T, end at the first chunk below T - 0.15."""
    out, start, speech = [], 0.0, False
    for i, p in enumerate(probs):
        t0 = i * CHUNK / RATE
        if not speech and p >= THRESHOLD:
            speech, start = True, t0
        elif speech and p < THRESHOLD - 0.15:
            speech = False
            out.append(f"speech {start:.3f} {t0:.3f}")
    if speech:
        out.append(f"speech {start:.3f} {n_samples / RATE:.3f}")
    return out


def test_segments_match_pytorch(tmp_path):
    import torch

    net = _vad_net()
    model = tmp_path / "vad.onnx"
    torch.onnx.export(net, (torch.zeros(1, CHUNK), torch.zeros(2, 1, 8),
                            torch.tensor(16000, dtype=torch.int64)),
                      str(model), input_names=["input", "state", "sr"],
                      output_names=["output", "stateN"], opset_version=17)
    pcm = _pcm()
    (tmp_path / "audio.pcm").write_bytes(pcm.tobytes())

    probs, state = [], torch.zeros(2, 1, 8)
    padded = np.zeros(-(-pcm.size // CHUNK) * CHUNK, np.float32)
    padded[:pcm.size] = pcm / 32768.0
    with torch.no_grad():
        for i in range(0, padded.size, CHUNK):
            x = torch.from_numpy(padded[i:i + CHUNK]).reshape(1, CHUNK)
            p, state = net(x, state, torch.tensor(16000))
            probs.append(float(p))
    # No probability so near a threshold that float rounding could flip it.
    assert min(min(abs(p - THRESHOLD), abs(p - THRESHOLD + 0.15)) for p in probs) > 1e-3
    want = _segments(probs, pcm.size)
    assert len(want) == 3, want  # the test model does see the three bursts
    # The state matters: the same chunks from a zero state each time differ.
    with torch.no_grad():
        fresh = [float(net(torch.from_numpy(padded[i:i + CHUNK]).reshape(1, CHUNK),
                           torch.zeros(2, 1, 8), torch.tensor(16000))[0])
                 for i in range(0, padded.size, CHUNK)]
    assert np.abs(np.array(fresh) - np.array(probs)).max() > 0.05

    r = subprocess.run([VAD, str(model), str(tmp_path / "audio.pcm")], capture_output=True,
                       text=True, check=True)
    assert r.stdout.splitlines() == want
    r = subprocess.run([VAD, "--probs", str(model), str(tmp_path / "audio.pcm")],
                       capture_output=True, text=True, check=True)
    lines = r.stdout.splitlines()
    got = [float(line.split()[2]) for line in lines if line.startswith("prob ")]
    np.testing.assert_allclose(got, probs, atol=1e-4, rtol=0)
    assert [line for line in lines if line.startswith("speech ")] == want
    # Explicit names give the same; wrong ones are refused by name.
    r = subprocess.run([VAD, "--carry", "stateN=state", "--chunk", "512", str(model),
                        str(tmp_path / "audio.pcm")], capture_output=True, text=True, check=True)
    assert r.stdout.splitlines() == want
    r = subprocess.run([VAD, "--carry", "stateX=state", str(model), str(tmp_path / "audio.pcm")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "--carry stateX=state" in r.stderr
