#!/usr/bin/env node
// Latency of ONNX Runtime (CPU, onnxruntime-node) against sparse-infer on the
// same model, inputs and thread count.
//
//   node compare.js MODEL INPUTS_DIR [--threads N] [--iters 100] [--warmup 10]
//                   [--sparse-infer PATH] [--skip-engine] [--rtol R]
//
// INPUTS_DIR holds the ONNX test layout: test_data_set_K/input_N.pb (one per
// model input, float32; matched to the model's inputs by tensor name when
// the names match, else in order), the sets cycled through during timing,
// and test_data_set_0/output_N.pb, the references ORT's outputs for set 0
// must match (max |ort - ref| <= R * max |ref|, R = --rtol, default 1e-4; the
// worst output counts). A quantized model (sparse-infer quantize) compared
// with its float model's references needs the quantization's own tolerance.
//
// Timing a call from JavaScript includes the binding's work (JS tensors to
// native values and back) that sparse-infer's in-process --bench does not
// see, so the same loop is run on identity.onnx (each input -> Identity,
// same shapes, written by models/make_ffn_stack.py and make_dense_models.py
// next to the inputs; fed the same sets) and its p50 is subtracted:
// p50_net = p50(model) - p50(identity).
//
// The last line is `ort_us p50=.. p50_net=.. mean=.. overhead=.. agree=yes|no
// max_rel_err=.. iters=N`. Exits 0 with a "skipped" line when
// onnxruntime-node is not installed; 1 on a usage or run error; 2 when ORT's
// output disagrees with the reference.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const REL_TOLERANCE = 1e-4;

function usage(msg) {
  if (msg) console.error(`error: ${msg}`);
  console.error(
    'usage: node compare.js MODEL INPUTS_DIR [--threads N] [--iters N] [--warmup N]\n' +
      '                       [--sparse-infer PATH] [--skip-engine] [--rtol R]');
  process.exit(1);
}

function parseArgs(argv) {
  const opts = {
    threads: 1, iters: 100, warmup: 10, engine: null, skipEngine: false, rtol: REL_TOLERANCE,
  };
  const pos = [];
  const intOpt = (name, v, min) => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) {
      usage(`${name} needs an integer >= ${min}`);
    }
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') opts.threads = intOpt(a, argv[++i], 1);
    else if (a === '--iters') opts.iters = intOpt(a, argv[++i], 1);
    else if (a === '--warmup') opts.warmup = intOpt(a, argv[++i], 0);
    else if (a === '--sparse-infer') {
      opts.engine = argv[++i];
      if (!opts.engine) usage('--sparse-infer needs a path');
    } else if (a === '--skip-engine') opts.skipEngine = true;
    else if (a === '--rtol') {
      opts.rtol = Number(argv[++i]);
      if (!(opts.rtol >= 0)) usage('--rtol needs a number >= 0');
    }
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) usage('need MODEL and INPUTS_DIR');
  [opts.model, opts.inputsDir] = pos;
  return opts;
}

// --- Minimal protobuf reader for onnx.TensorProto (float32 only) ---------

function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [value, pos];
    shift += 7n;
    if (shift > 63n) throw new Error('varint too long');
  }
}

// Returns { name, dims, data: Float32Array } for a FLOAT TensorProto stored
// as raw_data (what numpy_helper.from_array writes) or as float_data.
function readTensorPb(file) {
  const buf = fs.readFileSync(file);
  const t = { name: '', dims: [], dataType: 0, raw: null, floats: [] };
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (field === 1) t.dims.push(Number(v));
      else if (field === 2) t.dataType = Number(v);
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      if (end > buf.length) throw new Error(`${file}: truncated field ${field}`);
      const bytes = buf.subarray(pos, end);
      if (field === 1) {  // packed dims
        let p = 0;
        while (p < bytes.length) {
          let v;
          [v, p] = readVarint(bytes, p);
          t.dims.push(Number(v));
        }
      } else if (field === 4) {  // packed float_data
        for (let p = 0; p + 4 <= bytes.length; p += 4) t.floats.push(bytes.readFloatLE(p));
      } else if (field === 8) {
        t.name = bytes.toString('utf8');
      } else if (field === 9) {
        t.raw = bytes;
      }
      pos = end;
    } else if (wire === 5) {
      if (field === 4) t.floats.push(buf.readFloatLE(pos));
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else {
      throw new Error(`${file}: unsupported protobuf wire type ${wire}`);
    }
  }
  if (t.dataType !== 1) throw new Error(`${file}: tensor '${t.name}' is not float32 (type ${t.dataType})`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw) {
    if (t.raw.length !== count * 4) throw new Error(`${file}: raw_data has ${t.raw.length} bytes, dims need ${count * 4}`);
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = t.raw.readFloatLE(i * 4);
  } else {
    if (t.floats.length !== count) throw new Error(`${file}: ${t.floats.length} floats, dims need ${count}`);
    data = Float32Array.from(t.floats);
  }
  return { name: t.name, dims: t.dims, data };
}

// --- Timing ---------------------------------------------------------------

function nearestRank(sorted, p) {
  const idx = Math.max(Math.ceil((p / 100) * sorted.length), 1) - 1;
  return sorted[Math.min(idx, sorted.length - 1)];
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: nearestRank(s, 50), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function timeSession(session, feedsList, warmup, iters) {
  for (let i = 0; i < warmup; i++) await session.run(feedsList[i % feedsList.length]);
  const samples = [];
  for (let i = 0; i < iters; i++) {
    const feeds = feedsList[i % feedsList.length];
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return stats(samples);
}

// The set folders in natural order, each with its input_N.pb files (N from
// 0, no gaps) read as tensors.
function inputSets(dir) {
  const sets = fs.readdirSync(dir)
    .map((n) => /^test_data_set_(\d+)$/.exec(n))
    .filter((m) => m && fs.existsSync(path.join(dir, m[0], 'input_0.pb')))
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => path.join(dir, m[0]));
  if (sets.length === 0) throw new Error(`${dir}: no test_data_set_*/input_0.pb`);
  return sets.map((d) => {
    const tensors = [];
    for (let i = 0; fs.existsSync(path.join(d, `input_${i}.pb`)); i++) {
      tensors.push(readTensorPb(path.join(d, `input_${i}.pb`)));
    }
    return { dir: d, tensors };
  });
}

// Feeds for `session` from each set: by tensor name when every model input
// has a tensor of that name, else positionally (the set must then hold at
// least as many tensors as the model has inputs; extra ones are left out, so
// an identity model over the first input still works).
function feedsFor(ort, session, sets) {
  return sets.map((set) => {
    const byName = new Map(set.tensors.map((t) => [t.name, t]));
    const named = session.inputNames.every((n) => byName.has(n));
    if (!named && set.tensors.length < session.inputNames.length) {
      throw new Error(`${set.dir}: ${set.tensors.length} input file(s), the model has ` +
        `${session.inputNames.length} inputs (${session.inputNames.join(', ')})`);
    }
    const feeds = {};
    session.inputNames.forEach((n, i) => {
      const t = named ? byName.get(n) : set.tensors[i];
      feeds[n] = new ort.Tensor('float32', t.data, t.dims);
    });
    return feeds;
  });
}

function runEngine(opts) {
  const engine = opts.engine || process.env.SPARSE_INFER ||
    path.join(__dirname, '..', '..', 'build', 'tools', 'sparse-infer');
  if (!fs.existsSync(engine)) {
    throw new Error(`sparse-infer not found at ${engine} (give --sparse-infer PATH or --skip-engine)`);
  }
  const out = execFileSync(engine, [opts.model, '--inputs-dir', opts.inputsDir, '--bench',
    '--warmup', String(opts.warmup), '--iters', String(opts.iters),
    '--threads', String(opts.threads)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const last = out.trim().split('\n').pop();
  const m = /^latency_us p50=([\d.]+) .*mean=([\d.]+)/.exec(last);
  if (!m) throw new Error(`unexpected last line from sparse-infer: ${last}`);
  return { p50: Number(m[1]), mean: Number(m[2]) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.log(`skipped: onnxruntime-node is not installed (cd ${__dirname} && ` +
      `npm install --ignore-scripts): ${e.message.split('\n')[0]}`);
    return 0;
  }
  const sessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };

  const sets = inputSets(opts.inputsDir);
  const session = await ort.InferenceSession.create(opts.model, sessionOptions);
  const feeds = feedsFor(ort, session, sets);

  // Agreement on set 0 before timing: a fast wrong answer is no result.
  // References output_N.pb match the model's outputs by name, else in order.
  const refs = [];
  for (let i = 0; fs.existsSync(path.join(sets[0].dir, `output_${i}.pb`)); i++) {
    refs.push(readTensorPb(path.join(sets[0].dir, `output_${i}.pb`)));
  }
  let agree = 'n/a';
  let maxRel = NaN;
  if (refs.length > 0) {
    const results = await session.run(feeds[0]);
    maxRel = 0;
    refs.forEach((ref, i) => {
      const outName = session.outputNames.includes(ref.name) ? ref.name : session.outputNames[i];
      const got = results[outName];
      if (!got) throw new Error(`no model output for reference output_${i}.pb ('${ref.name}')`);
      if (got.dims.join(',') !== ref.dims.join(',')) {
        throw new Error(`output ${outName} has shape [${got.dims}], reference [${ref.dims}]`);
      }
      let maxDiff = 0;
      let maxRef = 0;
      for (let j = 0; j < ref.data.length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(got.data[j] - ref.data[j]));
        maxRef = Math.max(maxRef, Math.abs(ref.data[j]));
      }
      maxRel = Math.max(maxRel, maxDiff / Math.max(maxRef, Number.MIN_VALUE));
    });
    agree = maxRel <= opts.rtol ? 'yes' : 'no';
  }

  const ortStats = await timeSession(session, feeds, opts.warmup, opts.iters);

  let overhead = 0;
  const identityPath = [path.join(opts.inputsDir, 'identity.onnx'),
    path.join(path.dirname(opts.model), 'identity.onnx')].find((p) => fs.existsSync(p));
  if (identityPath) {
    const idSession = await ort.InferenceSession.create(identityPath, sessionOptions);
    overhead = (await timeSession(idSession, feedsFor(ort, idSession, sets),
      opts.warmup, opts.iters)).p50;
  } else {
    console.error('warning: no identity.onnx next to the inputs or the model; ' +
      'the binding overhead is not subtracted');
  }
  const net = Math.max(ortStats.p50 - overhead, 0);

  console.log(`model ${opts.model}, ${sets.length} input sets, threads ${opts.threads}, ` +
    `warmup ${opts.warmup}, iters ${opts.iters}`);
  console.log(`onnxruntime-node ${ort.env.versions ? ort.env.versions.node : '?'}: ` +
    `p50 ${ortStats.p50.toFixed(1)} us (binding overhead ${overhead.toFixed(1)} us, ` +
    `net ${net.toFixed(1)} us), mean ${ortStats.mean.toFixed(1)} us`);
  console.log(`output vs reference (set 0): max |diff| / max |ref| = ` +
    `${Number.isNaN(maxRel) ? 'n/a' : maxRel.toExponential(2)} -> ${agree}`);
  if (!opts.skipEngine) {
    const eng = runEngine(opts);
    console.log(`sparse-infer: p50 ${eng.p50.toFixed(1)} us, mean ${eng.mean.toFixed(1)} us; ` +
      `ORT net / sparse-infer = ${(net / eng.p50).toFixed(2)}x`);
  }
  console.log(`ort_us p50=${ortStats.p50.toFixed(1)} p50_net=${net.toFixed(1)} ` +
    `mean=${ortStats.mean.toFixed(1)} overhead=${overhead.toFixed(1)} agree=${agree} ` +
    `max_rel_err=${Number.isNaN(maxRel) ? 'n/a' : maxRel.toExponential(2)} iters=${opts.iters}`);
  return agree === 'no' ? 2 : 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
