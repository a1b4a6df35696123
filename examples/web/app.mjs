// The browser example: load a GAN Studio generator (.onnx + its card .json), run it with
// onnxruntime-web's wasm backend, and generate a new image on every slider move.
// Static files only; serve the repository root (see ../README.md) and open examples/web/.

import {
  cardPathFor, checkSession, imageToRGBA, latentRange, metadataFromCard, metadataFromOnnx, sampleLatents,
} from '../common/gan.mjs';

const MAX_DIRECTION_SLIDERS = 5;

const DEFAULT_MODEL = '../../exported/mnist-dcgan.onnx';
const ORT_DIR = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url);
const MAX_SEED = 2 ** 32 - 1;

const $ = (id) => document.getElementById(id);
const canvas = $('image');
const ctx = canvas.getContext('2d');
const statusLine = $('status');
const seedBox = $('seed');
const labelBox = $('label');
const slidersBox = $('sliders');

const params = new URLSearchParams(location.search);
const state = {
  ort: null, session: null, meta: null,
  pixels: null, // the last image's RGBA bytes as the model drew them (the canvas premultiplies alpha)
  seed: 0, base: null, // the seed and its latent, Float32Array(latentDim)
  sliders: [], // <input type=range>, slider i moves z[i]
  directionSliders: [], // slider k moves z along the model's stored SeFa direction k
  generation: 0, running: false, pending: false,
};

function setStatus(text, kind = 'busy') {
  statusLine.textContent = text;
  document.body.dataset.state = kind;
}

function fail(err) {
  console.error(err);
  setStatus(`error: ${err.message ?? err}`, 'error');
}

async function fetchBytes(url, what) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch the ${what} ${url} (${e.message}); open the page over http (python -m http.server in the repository root), not from file://`);
  }
  if (!res.ok) {
    throw new Error(`could not load the ${what} ${url}: HTTP ${res.status}. `
      + 'Export a generator with "python -m training export RUN --out exported/NAME.onnx", or open this page with ?model=path/to/NAME.onnx');
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** {meta, source}: the model card beside the model; without one, the metadata inside the file. */
async function loadMetadata(cardUrl, bytes) {
  let res = null;
  try {
    res = await fetch(cardUrl);
  } catch {
    res = null;
  }
  if (res && res.ok) {
    let card;
    try {
      card = await res.json();
    } catch (e) {
      throw new Error(`${cardUrl} is not a JSON model card (${e.message})`);
    }
    return { meta: metadataFromCard(card), name: card.name, source: 'model card' };
  }
  const meta = metadataFromOnnx(bytes);
  if (!meta) throw new Error(`no model card at ${cardUrl} (HTTP ${res ? res.status : 'error'}) and no gan_studio.* metadata inside the model`);
  return { meta, name: null, source: 'metadata inside the .onnx' };
}

async function loadOrt() {
  try {
    const ort = await import(new URL('ort.wasm.min.mjs', ORT_DIR).href);
    ort.env.wasm.wasmPaths = ORT_DIR.href;
    ort.env.wasm.numThreads = 1; // no SharedArrayBuffer, so no cross-origin isolation needed
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'warning';
    return ort;
  } catch (e) {
    throw new Error(`onnxruntime-web is missing (${e.message}): run "npm ci" in examples/web, or examples/setup.sh`);
  }
}

function buildControls(meta) {
  const [lo, hi] = latentRange(meta);
  const wanted = Number.parseInt(params.get('sliders') ?? '8', 10);
  const count = Math.min(meta.latentDim, Number.isFinite(wanted) && wanted > 0 ? wanted : 8);
  slidersBox.querySelector('legend').textContent = `Latent dimensions 0–${count - 1} of ${meta.latentDim}`;
  for (let i = 0; i < count; i += 1) {
    const row = document.createElement('label');
    row.className = 'slider';
    const name = document.createElement('span');
    name.textContent = `z[${i}]`;
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', min: String(lo), max: String(hi), step: String((hi - lo) / 60) });
    input.dataset.dim = String(i);
    input.setAttribute('aria-label', `latent dimension ${i}`);
    const out = document.createElement('output');
    input.addEventListener('input', () => {
      input.dataset.moved = '1';
      out.textContent = Number(input.value).toFixed(2);
      requestGenerate();
    });
    row.append(name, input, out);
    slidersBox.append(row);
    state.sliders.push(input);
  }
  slidersBox.disabled = false;
  buildDirectionControls(meta);

  if (meta.numClasses > 0) {
    meta.classNames.forEach((n, k) => labelBox.add(new Option(`${k}: ${n}`, String(k))));
    const label = Number.parseInt(params.get('label') ?? '0', 10);
    labelBox.value = String(label >= 0 && label < meta.numClasses ? label : 0);
    labelBox.addEventListener('input', requestGenerate);
    $('class-row').hidden = false;
  }

  seedBox.max = String(MAX_SEED);
  const seed = Number.parseInt(params.get('seed') ?? '0', 10);
  seedBox.value = String(Number.isSafeInteger(seed) && seed >= 0 && seed <= MAX_SEED ? seed : 0);
  seedBox.addEventListener('input', resetToSeed);
  $('random-seed').addEventListener('click', () => {
    seedBox.value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
    resetToSeed();
  });
  $('reset').addEventListener('click', resetToSeed);
}

/** Sliders along the model's stored SeFa directions (files exported before them have none). */
function buildDirectionControls(meta) {
  const box = $('directions');
  if (!meta.directions) return;
  const count = Math.min(MAX_DIRECTION_SLIDERS, meta.directions.vectors.length);
  for (let k = 0; k < count; k += 1) {
    const row = document.createElement('label');
    row.className = 'slider';
    const name = document.createElement('span');
    name.textContent = `d${k}`;
    name.title = `SeFa direction ${k}: ${(100 * meta.directions.share[k]).toFixed(1)}% of the first layer's stretch`;
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', min: '-5', max: '5', step: '0.1', value: '0' });
    input.dataset.direction = String(k);
    input.setAttribute('aria-label', `direction ${k}`);
    const out = document.createElement('output');
    out.textContent = '0.0';
    input.addEventListener('input', () => {
      out.textContent = Number(input.value).toFixed(1);
      requestGenerate();
    });
    row.append(name, input, out);
    box.append(row);
    state.directionSliders.push(input);
  }
  box.querySelector('legend').textContent = `Directions (SeFa, closed form from the first layer): ${count} of ${meta.directions.vectors.length}`;
  box.hidden = false;
}

function readSeed() {
  const v = Number(seedBox.value);
  return seedBox.value !== '' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_SEED ? v : null;
}

/** The seed's latent; the sliders jump to its first coordinates. */
function resetToSeed() {
  const seed = readSeed();
  if (seed === null) {
    setStatus(`error: the seed must be an integer from 0 to ${MAX_SEED}`, 'error');
    return;
  }
  state.seed = seed;
  state.base = sampleLatents(state.meta, 1, seed);
  state.sliders.forEach((s, i) => {
    s.value = String(state.base[i]); // snaps to the slider's step; z keeps the exact value until moved
    delete s.dataset.moved;
    s.nextElementSibling.textContent = state.base[i].toFixed(2);
  });
  state.directionSliders.forEach((s) => {
    s.value = '0';
    s.nextElementSibling.textContent = '0.0';
  });
  requestGenerate();
}

function currentLatent() {
  const z = Float32Array.from(state.base);
  state.sliders.forEach((s, i) => {
    if (s.dataset.moved) z[i] = Number(s.value);
  });
  // z + sum of amount_k * direction_k in float64, float32 last, clipped to the bound: as Python's
  const { directions, bound } = state.meta;
  const moved = state.directionSliders.filter((s) => Number(s.value) !== 0);
  if (!moved.length) return z;
  const sum = Float64Array.from(z);
  for (const s of moved) {
    const d = Float32Array.from(directions.vectors[Number(s.dataset.direction)]);
    for (let i = 0; i < sum.length; i += 1) sum[i] += Number(s.value) * d[i];
  }
  return Float32Array.from(sum, (v) => (bound === null ? v : Math.min(bound, Math.max(-bound, v))));
}

// Runs never overlap (a session runs one at a time); moves made during a run collapse into
// one more run with the latest values, so a fast drag never queues up stale images.
function requestGenerate() {
  state.pending = true;
  if (!state.running) void generateLoop();
}

async function generateLoop() {
  state.running = true;
  try {
    while (state.pending) {
      state.pending = false;
      await generateOnce();
    }
  } catch (e) {
    fail(e);
  } finally {
    state.running = false;
  }
}

async function generateOnce() {
  const { ort, session, meta } = state;
  const z = currentLatent();
  const feeds = { z: new ort.Tensor('float32', z, [1, meta.latentDim]) };
  if (meta.numClasses > 0) feeds.label = new ort.Tensor('int64', BigInt64Array.of(BigInt(labelBox.value)), [1]);
  setStatus('generating…', 'busy');
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const [, h, w] = meta.imageShape;
  state.pixels = imageToRGBA(out.image.data, 0, meta);
  ctx.putImageData(new ImageData(state.pixels, w, h), 0, 0);
  state.generation += 1;
  canvas.dataset.generation = String(state.generation);
  const what = meta.numClasses > 0 ? `, class ${meta.classNames[Number(labelBox.value)]}` : '';
  setStatus(`ready: image ${state.generation} (seed ${state.seed}${what}) generated in ${ms.toFixed(1)} ms`, 'ready');
}

async function main() {
  const modelPath = params.get('model') || DEFAULT_MODEL;
  const modelUrl = new URL(modelPath, location.href);
  const cardUrl = params.get('card') ? new URL(params.get('card'), location.href) : new URL(cardPathFor(modelUrl.pathname), modelUrl);
  setStatus(`loading ${modelPath}…`);
  const [ort, bytes] = await Promise.all([loadOrt(), fetchBytes(modelUrl.href, 'model')]);
  const { meta, name, source } = await loadMetadata(cardUrl.href, bytes);
  setStatus(`starting onnxruntime-web ${ort.env.versions?.web ?? ''} (wasm)…`);
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new Error(`onnxruntime-web cannot load ${modelPath}: ${e.message ?? e}`);
  }
  checkSession(meta, session);
  Object.assign(state, { ort, session, meta });

  const [c, h, w] = meta.imageShape;
  canvas.width = w;
  canvas.height = h;
  canvas.classList.toggle('alpha', c === 4);
  const scale = Math.max(1, Math.floor(336 / Math.max(h, w)));
  canvas.style.width = `${w * scale}px`;
  canvas.style.height = `${h * scale}px`;
  const facts = [
    name || modelPath.split('/').pop(), meta.dataset, meta.architecture,
    meta.trainSteps !== null ? `${meta.trainSteps} steps` : '', `${w}×${h}×${c}`,
    `z: ${meta.latentDim}-d ${meta.distribution}${meta.bound !== null ? ` in ±${meta.bound}` : ''}`,
    meta.numClasses > 0 ? `${meta.numClasses} classes` : '', `metadata from the ${source}`,
    meta.latentScheme === 'philox' ? 'seeds as in Python'
      : 'an older file (latent scheme pcg64): its seeds draw other images here than in Python',
  ].filter(Boolean);
  $('model-info').textContent = facts.join(' · ');
  document.title = `GAN Studio · ${facts[0]}`;

  buildControls(meta);
  resetToSeed();
}

// for scripts driving the page (and tests): the exact pixels of the image shown
window.ganExample = state;

main().catch(fail);
