// Explore's morph studio inside the Streamlit page: the exported generator runs here, in the
// browser (onnxruntime-web, wasm backend, one thread), on every slider input, with no server
// round trip. Streamlit's component protocol (postMessage) is spoken directly: no build step.
//
// Python sends (args): the model's bytes and id, the key latents [K][D], their labels, the path
// method, the directions [k][D] with their spread and labels, the latent bound, the image shape
// and output range, the slider values to start from, and a counter of its own script runs.
// We send back (setComponentValue), once the sliders rest: {ready, model_id, t, amounts, z, label},
// z being the exact latent drawn, so the server's PNG and GIF downloads show these very pixels.
// Where the runtime cannot start, we send {failed: why} and the page draws on the server instead.

const ORT_DIR = new URL('./ort/', import.meta.url);
const REPORT_AFTER_MS = 350; // a rest this long after the last move reports the position

const $ = (id) => document.getElementById(id);
const canvas = $('image');
const ctx = canvas.getContext('2d');
const morph = $('morph');
const state = {
  ort: null, session: null, modelId: null, loading: null, failed: null,
  args: null, signature: '', dirSliders: [], started: false,
  running: false, pending: false, stamp: null, generation: 0,
  pointerDown: false, reportTimer: null, lastSent: '',
};
// measured latencies (ms) from an input event to the frame with its pixels, and the last frame's
// RGBA bytes as the model drew them: read by bench/ and tests/
window.ganMorph = { latencies: [], pixels: null, state };

function post(type, extra = {}) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...extra }, '*');
}
const setValue = (value) => post('streamlit:setComponentValue', { value, dataType: 'json' });
let lastHeight = 0;
function fitHeight() {
  const h = Math.ceil(document.body.getBoundingClientRect().height) + 4;
  if (h !== lastHeight) {
    lastHeight = h;
    post('streamlit:setFrameHeight', { height: h });
  }
}

function setStatus(text, kind) {
  $('status').textContent = text;
  if (kind) document.body.dataset.state = kind;
  fitHeight();
}

function fail(why) {
  state.failed = why;
  setStatus(`The in-browser generator cannot run here: ${why}`, 'failed');
  $('studio').hidden = true;
  setValue({ failed: why, model_id: state.args ? state.args.model_id : null });
}

async function loadOrt() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    throw new Error('this browser has no WebAssembly');
  }
  let ort;
  try {
    ort = await import(new URL('ort.wasm.min.mjs', ORT_DIR).href);
  } catch (e) {
    throw new Error(`onnxruntime-web did not load (${e.message ?? e}); run scripts/install.sh`);
  }
  ort.env.wasm.wasmPaths = ORT_DIR.href;
  ort.env.wasm.numThreads = 1; // no SharedArrayBuffer in a Streamlit iframe: one thread
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  return ort;
}

async function openModel(args) {
  state.ort = state.ort ?? await loadOrt();
  const bytes = args.model instanceof Uint8Array ? args.model : new Uint8Array(args.model ?? []);
  if (!bytes.length) throw new Error('the page sent no model bytes');
  try {
    state.session = await state.ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new Error(`onnxruntime-web cannot run this model (${e.message ?? e})`);
  }
  state.modelId = args.model_id;
}

// --- the latent the sliders name (the same arithmetic as app/latent_maths.py, float32 where numpy is) ---

const f32 = Math.fround;

function pathPoint(keys, t, method) {
  const segments = keys.length - 1;
  const pos = Math.min(Math.max(t, 0), 1) * segments;
  const i = Math.min(Math.floor(pos), segments - 1);
  const u = pos - i;
  const a = keys[i];
  const b = keys[i + 1];
  const d = a.length;
  let wa = 1 - u;
  let wb = u;
  if (method === 'slerp') {
    let na = 0;
    let nb = 0;
    for (let j = 0; j < d; j += 1) { na += a[j] * a[j]; nb += b[j] * b[j]; }
    na = Math.sqrt(na);
    nb = Math.sqrt(nb);
    if (na !== 0 && nb !== 0) {
      let dot = 0;
      for (let j = 0; j < d; j += 1) dot += (a[j] / na) * (b[j] / nb);
      const omega = Math.acos(Math.min(Math.max(dot, -1), 1));
      const so = Math.sin(omega);
      if (so >= 1e-6) {
        wa = Math.sin((1 - u) * omega) / so;
        wb = Math.sin(u * omega) / so;
      }
    }
  }
  const z = new Float32Array(d);
  for (let j = 0; j < d; j += 1) z[j] = wa * a[j] + wb * b[j];
  return z;
}

function currentLatent() {
  const a = state.args;
  const t = Number(morph.value);
  const z = pathPoint(a.keys, t, a.method);
  const amounts = state.dirSliders.map((s) => Number(s.value));
  if (amounts.some((x) => x !== 0)) {
    const off = new Float32Array(z.length);
    amounts.forEach((amount, k) => {
      const scale = f32(amount * a.spread[k]);
      const dir = a.dirs[k];
      for (let j = 0; j < z.length; j += 1) off[j] = f32(off[j] + f32(scale * dir[j]));
    });
    for (let j = 0; j < z.length; j += 1) z[j] = f32(z[j] + off[j]);
  }
  if (a.bound !== null && a.bound !== undefined) {
    for (let j = 0; j < z.length; j += 1) z[j] = Math.min(a.bound, Math.max(-a.bound, z[j]));
  }
  const seg = Math.min(Math.floor(t * (a.keys.length - 1) + 0.5), a.keys.length - 1);
  const label = a.labels ? a.labels[seg] : null;
  return { t, amounts, z, label };
}

// numpy's rint: halves go to the even neighbour
function rint(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
}

// Output [1, C, H, W] to RGBA bytes with inference.images.to_uint8's arithmetic (float32, clipped,
// NaN to 0, rint), so the canvas shows Python's pixels: grey repeated into R, G, B; a 4th channel
// is alpha, kept as the model drew it (3 channels and grey: opaque).
function toRGBA(data, shape, range) {
  const [c, h, w] = shape;
  const lo = f32(range[0]);
  const k = f32(255 / (range[1] - range[0]));
  const plane = h * w;
  const out = new Uint8ClampedArray(plane * 4);
  const byte = (x) => (Number.isNaN(x) ? 0 : rint(Math.min(255, Math.max(0, f32(f32(x - lo) * k)))));
  const colour = c >= 3;
  for (let p = 0; p < plane; p += 1) {
    const r = byte(data[p]);
    out[4 * p] = r;
    out[4 * p + 1] = colour ? byte(data[plane + p]) : r;
    out[4 * p + 2] = colour ? byte(data[2 * plane + p]) : r;
    out[4 * p + 3] = c === 4 ? byte(data[3 * plane + p]) : 255;
  }
  return out;
}

// --- drawing: runs never overlap; inputs during a run collapse into one more run ---

function requestDraw(stamp) {
  if (stamp !== undefined && state.stamp === null) state.stamp = stamp;
  state.pending = true;
  if (!state.running && state.session) void drawLoop();
}

async function drawLoop() {
  state.running = true;
  try {
    while (state.pending) {
      state.pending = false;
      await drawOnce();
    }
  } catch (e) {
    fail(`the generator failed to run (${e.message ?? e})`);
  } finally {
    state.running = false;
  }
}

async function drawOnce() {
  const { ort, session, args } = state;
  const stamp = state.stamp;
  state.stamp = null;
  const frame = currentLatent();
  const feeds = { z: new ort.Tensor('float32', frame.z, [1, frame.z.length]) };
  if (args.labels) feeds.label = new ort.Tensor('int64', BigInt64Array.of(BigInt(frame.label)), [1]);
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const [, h, w] = args.image_shape;
  // the canvas premultiplies colour by alpha, so its own pixels are not exact where alpha < 255: keep these
  window.ganMorph.pixels = toRGBA(out.image.data, args.image_shape, args.output_range);
  ctx.putImageData(new ImageData(window.ganMorph.pixels, w, h), 0, 0);
  state.generation += 1;
  state.frame = frame;
  canvas.dataset.generation = String(state.generation);
  canvas.dataset.latent = JSON.stringify(Array.from(frame.z));
  canvas.dataset.label = frame.label === null ? '' : String(frame.label);
  $('caption').textContent = `morph ${frame.t.toFixed(2)} · drawn in your browser in ${ms.toFixed(1)} ms`;
  if (stamp !== null) {
    // the frame that shows the new pixels: an animation frame, then a task queued from it runs after its paint
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        const list = window.ganMorph.latencies;
        list.push(performance.now() - stamp);
        if (list.length > 5000) list.shift();
      };
      channel.port2.postMessage(0);
    });
  }
  scheduleReport();
}

function report() {
  if (!state.frame || state.failed) return;
  const f = state.frame;
  const value = { ready: true, model_id: state.modelId, t: f.t, amounts: f.amounts, z: Array.from(f.z), label: f.label };
  const text = JSON.stringify(value);
  if (text === state.lastSent) return;
  state.lastSent = text;
  setValue(value);
}

function scheduleReport() {
  clearTimeout(state.reportTimer);
  if (!state.pointerDown) state.reportTimer = setTimeout(report, REPORT_AFTER_MS);
}

// --- controls ---

function knob(label, min, max, step, value, onInput) {
  const wrap = document.createElement('label');
  wrap.className = 'knob';
  const head = document.createElement('span');
  head.className = 'head';
  const name = document.createElement('span');
  name.textContent = label;
  const out = document.createElement('output');
  const input = document.createElement('input');
  Object.assign(input, { type: 'range', min: String(min), max: String(max), step: String(step), value: String(value) });
  input.setAttribute('aria-label', label);
  out.textContent = Number(value).toFixed(1);
  input.addEventListener('input', (e) => {
    out.textContent = Number(input.value).toFixed(1);
    onInput(e);
  });
  head.append(name, out);
  wrap.append(head, input);
  return wrap;
}

function onInput(e) {
  requestDraw(e.timeStamp);
}

function buildControls(args) {
  morph.value = String(args.t ?? 0);
  $('morph-out').textContent = Number(morph.value).toFixed(2);
  const box = $('directions');
  box.replaceChildren();
  state.dirSliders = args.dirs.map((_, k) => {
    const row = knob(args.direction_labels[k], -3, 3, 0.1, args.amounts?.[k] ?? 0, onInput);
    box.append(row);
    return row.querySelector('input');
  });
  const [c, h, w] = args.image_shape;
  canvas.width = w;
  canvas.height = h;
  canvas.classList.toggle('alpha', c === 4);
  const scale = Math.max(1, Math.floor((args.px || 256) / Math.max(h, w)));
  canvas.style.width = `${w * scale}px`;
  canvas.style.height = `${h * scale}px`;
}

morph.addEventListener('input', (e) => {
  $('morph-out').textContent = Number(morph.value).toFixed(2);
  onInput(e);
});
$('reset').addEventListener('click', (e) => {
  state.dirSliders.forEach((s) => {
    s.value = '0';
    s.closest('.knob').querySelector('output').textContent = '0.0';
  });
  onInput(e);
});
// while a button is held the position is not final: report it when the drag ends
document.addEventListener('pointerdown', () => { state.pointerDown = true; clearTimeout(state.reportTimer); });
document.addEventListener('pointerup', () => { state.pointerDown = false; scheduleReport(); });

function applyTheme(theme) {
  if (!theme) return;
  const root = document.documentElement.style;
  if (theme.textColor) root.setProperty('--text', theme.textColor);
  if (theme.primaryColor) root.setProperty('--primary', theme.primaryColor);
}

async function onRender(args) {
  state.args = args;
  document.body.dataset.renders = String(Number(document.body.dataset.renders) + 1);
  document.body.dataset.serverRun = String(args.server_run ?? '');
  if (state.failed) return;
  try {
    if (state.modelId !== args.model_id) {
      if (!state.loading) {
        state.session = null;
        setStatus('Starting the in-browser generator…', 'loading');
        state.loading = openModel(args).finally(() => { state.loading = null; });
      }
      await state.loading;
      if (state.args !== args) return; // a newer render came while loading: it carries on
      state.started = false;
    }
  } catch (e) {
    fail(e.message ?? String(e));
    return;
  }
  const signature = JSON.stringify([args.model_id, args.keys, args.labels, args.method, args.dirs, args.spread, args.bound]);
  if (!state.started) {
    buildControls(args);
    state.started = true;
    $('studio').hidden = false;
    setStatus('', 'ready');
    $('status').hidden = true;
  } else if (signature === state.signature) {
    return; // a rerun with nothing new for us: keep the picture and the sliders as they are
  }
  state.signature = signature;
  requestDraw();
  fitHeight();
}

window.addEventListener('message', (event) => {
  const data = event.data;
  if (!data || data.type !== 'streamlit:render') return;
  applyTheme(data.theme);
  void onRender(data.args);
});
new ResizeObserver(fitHeight).observe(document.body);
post('streamlit:componentReady', { apiVersion: 1 });
