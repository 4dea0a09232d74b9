"""A script written against ONNX Runtime's Python API, kept as users write
them: test_ort_script.py runs it after changing the import line only.

    ort_style_script.py MODEL.onnx PIXELS.bin BATCH.bin
"""
import sys

import numpy as np
import onnxruntime as ort

model, single, batch = sys.argv[1:4]
so = ort.SessionOptions()
so.intra_op_num_threads = 2
sess = ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
out = sess.get_outputs()[0]
print(f"input {inp.name} {inp.type} {inp.shape}, output {out.name} {out.type} {out.shape}")
features = inp.shape[-1]
x = np.fromfile(single, dtype=np.float32).reshape(1, features)
(logits,) = sess.run(None, {inp.name: x})
print("prediction:", int(np.argmax(logits, axis=1)[0]))
xb = np.fromfile(batch, dtype=np.float32).reshape(-1, features)
logits_b = sess.run([out.name], {inp.name: xb}, None)[0]
print("batch predictions:", " ".join(str(int(c)) for c in logits_b.argmax(axis=1)))
