// GAN Studio generators outside Python: the model card, seeded latents, pixels.
//
// Plain ES module with no dependencies and no onnxruntime import, shared by the browser page
// (examples/web) and the command line (examples/node). Everything here follows the ONNX contract
// of GAN Studio: input `z` float32 [batch, latent_dim], optional `label` int64 [batch], output
// `image` float32 [batch, C, H, W] in the range the metadata names.

export const METADATA_PREFIX = 'gan_studio.';
// image_shape's C: 1 grey, 3 RGB, 4 RGBA (alpha as the 4th channel)
export const CHANNELS = [1, 3, 4];

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

/** The stored directions ({method, layer, vectors: [[latentDim numbers]], share}) or null. */
function parseDirections(d, latentDim) {
  if (d === undefined || d === null || d === '') return null;
  if (typeof d !== 'object' || !Array.isArray(d.vectors) || !Array.isArray(d.share) || d.vectors.length !== d.share.length || !d.vectors.length) {
    fail('metadata directions: expected {"method", "vectors": [[...]], "share": [...]} with one share per vector');
  }
  if (!d.vectors.every((v) => Array.isArray(v) && v.length === latentDim && v.every(Number.isFinite))) fail(`metadata directions: every vector must be ${latentDim} numbers`);
  return { method: String(d.method), layer: String(d.layer ?? ''), vectors: d.vectors, share: d.share.map(Number) };
}

/**
 * Validate metadata (the card's "metadata" object, or metadata_props strings without their
 * prefix) into {latentDim, distribution, bound, latentScheme, directions, imageShape: [C,H,W], outputRange: [lo,hi],
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
  if (!CHANNELS.includes(imageShape[0])) fail(`metadata image_shape: 1, 3 or 4 channels expected (grey, RGB, RGBA), got ${imageShape[0]}`);
  const outputRange = toList(raw.output_range, 'output_range', 2).map((x) => toFloat(x, 'output_range'));
  if (!(outputRange[0] < outputRange[1])) fail(`metadata output_range: lo must be < hi, got ${outputRange}`);
  const numClasses = raw.num_classes === undefined || raw.num_classes === '' ? 0 : toInt(raw.num_classes, 'num_classes', 0);
  let classNames = fromJson(raw.class_names, 'class_names') ?? [];
  if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string')) fail('metadata class_names: must be a list of strings');
  if (classNames.length !== numClasses) classNames = Array.from({ length: numClasses }, (_, i) => classNames[i] ?? String(i));
  const text = (k) => (raw[k] === undefined || raw[k] === null ? '' : String(raw[k]));
  const steps = raw.train_steps === undefined || raw.train_steps === null || raw.train_steps === '' ? null : toInt(raw.train_steps, 'train_steps', 0);
  const latentScheme = raw.latent_scheme === undefined || raw.latent_scheme === null || raw.latent_scheme === '' ? 'pcg64' : String(raw.latent_scheme).trim().toLowerCase();
  if (latentScheme !== 'philox' && latentScheme !== 'pcg64') fail(`metadata latent_scheme: must be philox or pcg64, got ${JSON.stringify(raw.latent_scheme)}`);
  const directions = parseDirections(fromJson(raw.directions, 'directions'), latentDim);
  return {
    latentDim, distribution, bound, latentScheme, imageShape, outputRange, numClasses, classNames,
    dataset: text('dataset'), architecture: text('architecture'), loss: text('loss'),
    trainSteps: steps, directions, raw,
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
// Seeded latents: the ONNX contract's latent scheme "philox" (docs/inference.md, "How a seed
// becomes a latent"; inference/philox.py is the same in Python). Element (row r, column c) of
// seed s is one Philox-4x32-10 block, counter (r, c, 0, 0), key (s mod 2^32, floor(s / 2^32)),
// then Box-Muller (normal) or a scaled uniform, in float64, cast to float32 last. Integer
// arithmetic is exact here (Math.imul for the low 32 bits of a product, 16-bit limbs for the
// high ones, >>> 0 to stay unsigned), so seed 7 is the same latent in Python, Node and a page.

export const LATENT_SCHEME = 'philox';
export const MAX_SEED = Number.MAX_SAFE_INTEGER; // 2^53 - 1: every runtime holds it exactly
const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const TWO_PI = 2 * Math.PI;

/** The high 32 bits of the 64-bit product of two uint32s, exactly (four 16x16-bit products). */
function mulhi32(a, b) {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const lh = aL * bH;
  const hl = aH * bL;
  const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox-4x32-R into `out` (a Uint32Array(4)): Random123's rounds, the key bumped before all but the first. */
function philoxInto(out, x0, x1, x2, x3, key0, key1, rounds) {
  let c0 = x0 >>> 0;
  let c1 = x1 >>> 0;
  let c2 = x2 >>> 0;
  let c3 = x3 >>> 0;
  let k0 = key0 >>> 0;
  let k1 = key1 >>> 0;
  for (let i = 0; i < rounds; i += 1) {
    if (i) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** Philox-4x32-10 (Random123's round and key schedule): four uint32 words for a counter and key. */
export function philox4x32(counter, key, rounds = 10) {
  return Array.from(philoxInto(new Uint32Array(4), ...counter, ...key, rounds));
}

// 53 random bits as a float64 in [0, 1): (hi >>> 5) * 2^26 + (lo >>> 6), over 2^53 (exact).
const unit = (hi, lo) => ((hi >>> 5) * 67108864 + (lo >>> 6)) / 9007199254740992;

function checkSeed(seed) {
  if (!Number.isSafeInteger(seed) || seed < 0) fail(`seed must be an integer from 0 to ${MAX_SEED}, got ${seed}`);
}

/**
 * The contract's latents: Float32Array of n * dim, row after row; row k is the same whatever n.
 * distribution 'normal' (clipped to +-bound when bound is not null) or 'uniform' (in +-bound);
 * truncation in [0, 1] scales every value toward 0 (1: none), before the float32 cast.
 */
export function latents(seed, n, dim, distribution = 'normal', bound = null, truncation = 1) {
  checkSeed(seed);
  if (!Number.isInteger(n) || n < 1) fail(`n must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(dim) || dim < 1) fail(`dim must be an integer >= 1, got ${dim}`);
  if (!(truncation >= 0 && truncation <= 1)) fail(`truncation must be in [0, 1], got ${truncation}`);
  if (distribution !== 'normal' && distribution !== 'uniform') fail(`distribution must be normal or uniform, got ${distribution}`);
  if (distribution === 'uniform' && !(bound > 0)) fail('a uniform latent needs a bound > 0');
  const key = [seed >>> 0, Math.floor(seed / 4294967296)];
  const z = new Float32Array(n * dim);
  const x = new Uint32Array(4);
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < dim; c += 1) {
      philoxInto(x, r, c, 0, 0, key[0], key[1], 10);
      const u1 = unit(x[0], x[1]);
      let v;
      if (distribution === 'uniform') v = (2 * u1 - 1) * bound;
      else {
        v = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(TWO_PI * unit(x[2], x[3]));
        if (bound !== null) v = Math.min(bound, Math.max(-bound, v));
      }
      z[r * dim + c] = v * truncation;
    }
  }
  return z;
}

/**
 * n latents of the model (its metadata from parseMetadata), Float32Array of n * latentDim. The
 * numbers of the contract's "philox" scheme: equal to Python's for every file with
 * latent_scheme "philox". An older file ("pcg64": numpy's stream, which has no JavaScript port)
 * gets the same philox numbers, so its seeds here draw other images than in Python; pages say so
 * with `meta.latentScheme`.
 */
export function sampleLatents(meta, n, seed, truncation = 1) {
  return latents(seed, n, meta.latentDim, meta.distribution, meta.bound, truncation);
}

/** A unit direction of the model: SeFa number k (0 first), Float32Array(latentDim); throws when absent. */
export function direction(meta, k) {
  const dirs = meta.directions;
  if (!dirs) fail('this model has no stored directions (exported before GAN Studio stored them: export it again)');
  if (!Number.isInteger(k) || k < 0 || k >= dirs.vectors.length) fail(`direction ${k} does not exist: the model has directions 0..${dirs.vectors.length - 1}`);
  return Float32Array.from(dirs.vectors[k]);
}

/** z + amount * direction k (in place on a copy): moving one latent along a stored direction. */
export function moveAlong(meta, z, k, amount) {
  const d = direction(meta, k);
  const out = Float32Array.from(z);
  for (let i = 0; i < out.length; i += 1) out[i] += amount * d[i % d.length];
  if (meta.bound !== null) for (let i = 0; i < out.length; i += 1) out[i] = Math.min(meta.bound, Math.max(-meta.bound, out[i]));
  return out;
}

/** The range a latent coordinate moves in on a slider. */
export function latentRange(meta) {
  return meta.bound !== null ? [-meta.bound, meta.bound] : [-3, 3];
}

// ---------------------------------------------------------------------------------------------
// Pixels. One output value becomes one byte exactly as Python's inference.images.to_uint8 does it,
// so a seed gives the same bytes here as in `python -m inference`: (x - lo) * (255 / (hi - lo)) in
// float32 arithmetic (numpy keeps the model's float32), clipped to 0..255 (NaN: 0), halves rounded
// to the even neighbour (numpy's rint; Math.round would send 0.5 up). Math.fround after each float64
// operation gives the correctly rounded float32 result of that operation, so this is exact.
// Alpha (a 4th channel) is mapped like the others.


// numpy's rint: a half goes to the even neighbour (v is never negative here)
function rintEven(v) {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 === 1 ? r - 1 : r;
}

/** A function from one model output value to its byte, for the metadata's output range [lo, hi]. */
export function byteMapper(lo, hi) {
  const low = Math.fround(lo);
  const scale = Math.fround(255 / (hi - lo));
  return (x) => {
    const v = Math.fround(Math.fround(x - low) * scale);
    if (Number.isNaN(v)) return 0;
    return rintEven(Math.min(255, Math.max(0, v)));
  };
}

/** One uint8 value from a model output value (clipped; NaN becomes the low end), as Python's. */
export function toByte(x, lo, hi) {
  return byteMapper(lo, hi)(x);
}

/**
 * Image `index` of an output [N, C, H, W] as the bytes Python's Generator.generate gives:
 * Uint8Array(H * W * C), channels last (grey; R, G, B; or R, G, B, A).
 */
export function imagePixels(data, index, meta) {
  const [c, h, w] = meta.imageShape;
  const byte = byteMapper(...meta.outputRange);
  const plane = h * w;
  const base = index * c * plane;
  const out = new Uint8Array(plane * c);
  for (let k = 0; k < c; k += 1) {
    for (let p = 0; p < plane; p += 1) out[p * c + k] = byte(data[base + k * plane + p]);
  }
  return out;
}

/**
 * Image `index` of an output [N, C, H, W] as RGBA bytes (H * W * 4), e.g. for ImageData: grey is
 * repeated into R, G and B; alpha is the model's 4th channel, or opaque for 1 and 3 channels.
 * A canvas keeps colour premultiplied by alpha, so read these bytes, not the canvas, for the exact
 * pixels of a transparent image.
 */
export function imageToRGBA(data, index, meta) {
  const [c, h, w] = meta.imageShape;
  const pixels = imagePixels(data, index, meta);
  const out = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p += 1) {
    const src = p * c;
    out[4 * p] = pixels[src];
    out[4 * p + 1] = pixels[src + (c >= 3 ? 1 : 0)];
    out[4 * p + 2] = pixels[src + (c >= 3 ? 2 : 0)];
    out[4 * p + 3] = c === 4 ? pixels[src + 3] : 255;
  }
  return out;
}
