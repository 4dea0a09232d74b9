// Runs MODEL.onnx in ONNX Runtime (CPU) on one float32 input read from a raw
// .bin file and compares its first output with a raw .bin sparse-infer wrote
// (`sparse-infer MODEL X.bin -o Y.bin`): prints the largest differences and
// exits 1 beyond atol + rtol * |ort| (default 1e-4 each). Used for the
// quantized forms (MatMulNBits int4/int8, QDQ int8), issue 13.
//   node same_outputs.js MODEL.onnx X.bin Y.bin [atol] [rtol]
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, xPath, yPath, atolArg, rtolArg] = process.argv.slice(2);
  if (!yPath) {
    console.error('usage: node same_outputs.js MODEL.onnx X.bin Y.bin [atol] [rtol]');
    process.exit(2);
  }
  const atol = Number(atolArg || 1e-4), rtol = Number(rtolArg || 1e-4);
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 1});
  const name = session.inputNames[0];
  const xb = fs.readFileSync(xPath);
  const x = new Float32Array(xb.buffer, xb.byteOffset, xb.length / 4);
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  const dims = meta && meta.shape ? meta.shape.map((d) => (typeof d === 'number' ? d : 1)) : [1, x.length];
  const out = await session.run({[name]: new ort.Tensor('float32', x, dims)});
  const ref = out[session.outputNames[0]].data;
  const yb = fs.readFileSync(yPath);
  const y = new Float32Array(yb.buffer, yb.byteOffset, yb.length / 4);
  if (y.length !== ref.length) {
    console.error(`length differs: ORT ${ref.length}, sparse-infer ${y.length}`);
    process.exit(1);
  }
  let worst = 0, worstAt = 0, maxAbs = 0;
  for (let i = 0; i < y.length; ++i) {
    const d = Math.abs(y[i] - ref[i]);
    maxAbs = Math.max(maxAbs, d);
    const excess = d / (atol + rtol * Math.abs(ref[i]));
    if (excess > worst) [worst, worstAt] = [excess, i];
  }
  console.log(`${model}: ${y.length} values, max |diff| ${maxAbs.toExponential(3)}, ` +
              `worst at ${worstAt} (ORT ${ref[worstAt]}, sparse-infer ${y[worstAt]}), ` +
              `${(worst * 100).toFixed(1)}% of the tolerance`);
  process.exit(worst <= 1 ? 0 : 1);
}
main().catch((e) => {
  console.error(e.message || e);
  process.exit(2);
});
