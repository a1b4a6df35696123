// GAN Studio generators outside Python: the model card, seeded latents, pixels.
//
// Plain ES module with no dependencies and no onnxruntime import, shared by the browser page
// (examples/web) and the command line (examples/node). Everything here follows the ONNX contract
// of GAN Studio: input `z` float32 [batch, latent_dim], optional `label` int64 [batch], output
// `image` float32 [batch, C, H, W] in the range the metadata names.

export const METADATA_PREFIX = 'gan_studio.';

/** The model card's path for a model path: NAME.onnx and NAME.fp16.onnx both use NAME.json. */
export function cardPathFor(modelPath) {
  const m = /^(.*?)(\.fp16)?\.onnx$/i.exec(modelPath);
  if (!m) throw new Error(`${modelPath}: a generator file ends in .onnx`);
  return `${m[1]}.json`;
}

// ---------------------------------------------------------------------------------------------
// Metadata: from the card (NAME.json) or from the ONNX file's own metadata_props.

function fail(msg) {
  throw new Error(msg);
}

function toInt(v, key, min) {
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) fail(`metadata ${key}: must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

function toFloat(v, key) {
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || (typeof v === 'string' && !v.trim())) fail(`metadata ${key}: must be a number, got ${JSON.stringify(v)}`);
  return n;
}

function toList(v, key, len) {
  const list = typeof v === 'string' ? v.split(',') : v;
  if (!Array.isArray(list) || list.length !== len) fail(`metadata ${key}: must be a list of ${len}, got ${JSON.stringify(v)}`);
  return list;
}

function fromJson(v, key) {
  if (typeof v !== 'string') return v;
  if (!v.trim()) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    fail(`metadata ${key}: not valid JSON: ${v}`);
  }
}

/**
 * Validate metadata (the card's "metadata" object, or metadata_props strings without their
 * prefix) into {latentDim, distribution, bound, imageShape: [C,H,W], outputRange: [lo,hi],
 * numClasses, classNames, dataset, architecture, loss, trainSteps, raw}.
 */
export function parseMetadata(raw) {
  if (!raw || typeof raw !== 'object') fail('metadata: expected an object');
  for (const key of ['latent_dim', 'latent_distribution', 'image_shape', 'output_range']) {
    if (raw[key] === undefined || raw[key] === null) fail(`metadata lacks the required key ${key}`);
  }
  const latentDim = toInt(raw.latent_dim, 'latent_dim', 1);
  const distribution = String(raw.latent_distribution).trim().toLowerCase();
  if (distribution !== 'normal' && distribution !== 'uniform') fail(`metadata latent_distribution: must be normal or uniform, got ${JSON.stringify(raw.latent_distribution)}`);
  let bound = raw.latent_bound;
  bound = bound === undefined || bound === null || (typeof bound === 'string' && !bound.trim()) ? null : toFloat(bound, 'latent_bound');
  if (bound !== null && bound <= 0) fail(`metadata latent_bound: must be > 0, got ${bound}`);
  if (distribution === 'uniform' && bound === null) fail('metadata: a uniform latent needs latent_bound');
  const imageShape = toList(raw.image_shape, 'image_shape', 3).map((x) => toInt(x, 'image_shape', 1));
  if (![1, 3].includes(imageShape[0])) fail(`metadata image_shape: 1 or 3 channels expected, got ${imageShape[0]}`);
  const outputRange = toList(raw.output_range, 'output_range', 2).map((x) => toFloat(x, 'output_range'));
  if (!(outputRange[0] < outputRange[1])) fail(`metadata output_range: lo must be < hi, got ${outputRange}`);
  const numClasses = raw.num_classes === undefined || raw.num_classes === '' ? 0 : toInt(raw.num_classes, 'num_classes', 0);
  let classNames = fromJson(raw.class_names, 'class_names') ?? [];
  if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string')) fail('metadata class_names: must be a list of strings');
  if (classNames.length !== numClasses) classNames = Array.from({ length: numClasses }, (_, i) => classNames[i] ?? String(i));
  const text = (k) => (raw[k] === undefined || raw[k] === null ? '' : String(raw[k]));
  const steps = raw.train_steps === undefined || raw.train_steps === null || raw.train_steps === '' ? null : toInt(raw.train_steps, 'train_steps', 0);
  return {
    latentDim, distribution, bound, imageShape, outputRange, numClasses, classNames,
    dataset: text('dataset'), architecture: text('architecture'), loss: text('loss'),
    trainSteps: steps, raw,
  };
}

/** Metadata from a model card object ({"name", "metadata": {...}, "training", "export"}). */
export function metadataFromCard(card) {
  if (!card || typeof card !== 'object' || !card.metadata) fail('model card: no "metadata" object (is this a GAN Studio card?)');
  return parseMetadata(card.metadata);
}

// A minimal protobuf reader: enough to pull ModelProto.metadata_props (field 14, a repeated
// StringStringEntryProto {key = 1, value = 2}) out of an .onnx file without a protobuf library.
// The graph and its weights (field 7) are skipped by their length prefix, never decoded.

function readVarint(buf, pos) {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i += 1) {
    if (pos >= buf.length) fail('ONNX file: truncated varint');
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if (!(b & 0x80)) return [result, pos];
    mul *= 128;
  }
  fail('ONNX file: bad varint');
}

function* fields(buf, start = 0, end = buf.length) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      yield { field, wire, value: v };
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      if (pos + len > end) fail('ONNX file: truncated (a field runs past the end)');
      yield { field, wire, start: pos, end: pos + len };
      pos += len;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      fail(`ONNX file: unsupported protobuf wire type ${wire} (not an ONNX model?)`);
    }
    if (pos > end) fail('ONNX file: truncated');
  }
}

/** {key: value} of the model's metadata_props (all keys, prefix kept). */
export function readOnnxMetadataProps(bytes) {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const dec = new TextDecoder();
  const props = {};
  for (const f of fields(buf)) {
    if (f.field !== 14 || f.wire !== 2) continue;
    let key = '';
    let value = '';
    for (const g of fields(buf, f.start, f.end)) {
      if (g.wire !== 2) continue;
      const s = dec.decode(buf.subarray(g.start, g.end));
      if (g.field === 1) key = s;
      else if (g.field === 2) value = s;
    }
    props[key] = value;
  }
  return props;
}

/** GAN Studio metadata embedded in the .onnx bytes, or null when the file carries none. */
export function metadataFromOnnx(bytes) {
  const props = readOnnxMetadataProps(bytes);
  const raw = {};
  for (const [k, v] of Object.entries(props)) if (k.startsWith(METADATA_PREFIX)) raw[k.slice(METADATA_PREFIX.length)] = v;
  return Object.keys(raw).length ? parseMetadata(raw) : null;
}

/**
 * Check the metadata against the session's inputs and outputs (onnxruntime's inputNames /
 * outputNames, and inputMetadata where the runtime has it); throws a clear Error otherwise.
 */
export function checkSession(meta, session) {
  const ins = session.inputNames;
  const outs = session.outputNames;
  if (!ins.includes('z')) fail(`not a GAN Studio generator: no input "z" (inputs: ${ins.join(', ')})`);
  if (!outs.includes('image')) fail(`not a GAN Studio generator: no output "image" (outputs: ${outs.join(', ')})`);
  const hasLabel = ins.includes('label');
  if (hasLabel && meta.numClasses < 1) fail('the model takes a label but its metadata says num_classes = 0');
  if (!hasLabel && meta.numClasses > 0) fail(`the metadata says num_classes = ${meta.numClasses} but the model has no "label" input`);
  const zMeta = (session.inputMetadata || []).find((m) => m && m.name === 'z');
  const dim = zMeta && Array.isArray(zMeta.shape) ? zMeta.shape[1] : undefined;
  if (typeof dim === 'number' && dim !== meta.latentDim) fail(`input z has ${dim} latent dims but the metadata says ${meta.latentDim}`);
}

// ---------------------------------------------------------------------------------------------
// Seeded latents. xoshiro128** seeded through splitmix32: small, fast, good statistics, and the
// same numbers in every JavaScript engine (integer arithmetic only). Normals use Box-Muller.
// This is NOT numpy's PCG64 stream: seed 7 here is not seed 7 of `python -m inference`; it is the
// same in the browser page and in the Node CLI (both V8), so the two examples agree.

function splitmix32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded PRNG: {nextUint32(), nextFloat() in [0, 1), nextNormal()}. Seeds: integers 0..2^53. */
export function rng(seed) {
  if (!Number.isSafeInteger(seed) || seed < 0) fail(`seed must be an integer >= 0, got ${seed}`);
  // fold both 32-bit halves of the seed in, so large seeds differ
  const sm = splitmix32((seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296), 0x27d4eb2f));
  const s = [sm(), sm(), sm(), sm()];
  if (!(s[0] | s[1] | s[2] | s[3])) s[0] = 1;
  const rotl = (x, k) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextUint32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  // 53-bit float in [0, 1)
  const nextFloat = () => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992;
  let spare = null;
  const nextNormal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const u1 = 1 - nextFloat(); // (0, 1]: log is finite
    const u2 = nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  return { nextUint32, nextFloat, nextNormal };
}

/**
 * n latents, Float32Array of n * latentDim, row after row, the way the metadata says:
 * normal: N(0, 1), clipped to [-bound, bound] when a bound is set; uniform: U(-bound, bound).
 * `truncation` in [0, 1] scales every latent toward the mean (1: none). The first k rows of
 * sampleLatents(n, ...) equal sampleLatents(k, ...).
 */
export function sampleLatents(meta, n, seed, truncation = 1) {
  if (!Number.isInteger(n) || n < 1) fail(`n must be an integer >= 1, got ${n}`);
  if (!(truncation >= 0 && truncation <= 1)) fail(`truncation must be in [0, 1], got ${truncation}`);
  const r = rng(seed);
  const { latentDim: d, distribution, bound } = meta;
  const z = new Float32Array(n * d);
  for (let i = 0; i < n * d; i += 1) {
    let v;
    if (distribution === 'uniform') v = -bound + 2 * bound * r.nextFloat();
    else {
      v = r.nextNormal();
      if (bound !== null) v = Math.min(bound, Math.max(-bound, v));
    }
    z[i] = v * truncation;
  }
  return z;
}

/** The range a latent coordinate moves in on a slider. */
export function latentRange(meta) {
  return meta.bound !== null ? [-meta.bound, meta.bound] : [-3, 3];
}

// ---------------------------------------------------------------------------------------------
// Pixels

/** One uint8 value from a model output value (clipped; NaN becomes the low end). */
export function toByte(x, lo, hi) {
  const v = ((x - lo) * 255) / (hi - lo);
  if (Number.isNaN(v)) return 0;
  return Math.round(Math.min(255, Math.max(0, v)));
}

/** Image `index` of an output [N, C, H, W] as RGBA bytes (H * W * 4), e.g. for ImageData. */
export function imageToRGBA(data, index, meta) {
  const [c, h, w] = meta.imageShape;
  const [lo, hi] = meta.outputRange;
  const plane = h * w;
  const base = index * c * plane;
  const out = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p += 1) {
    const r = toByte(data[base + p], lo, hi);
    out[4 * p] = r;
    out[4 * p + 1] = c === 3 ? toByte(data[base + plane + p], lo, hi) : r;
    out[4 * p + 2] = c === 3 ? toByte(data[base + 2 * plane + p], lo, hi) : r;
    out[4 * p + 3] = 255;
  }
  return out;
}
