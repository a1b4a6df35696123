// A drawing pad for Explore's "Find your image": white ink on black (MNIST's way round). "Find my
// drawing" sends the picture to the page as a PNG data URL (setComponentValue); nothing is sent while
// drawing. Streamlit's component protocol is spoken directly (postMessage), as in ../morph_web.

const pad = document.getElementById('pad');
const ctx = pad.getContext('2d');
const find = document.getElementById('find');
let drawing = false;
let last = null;
let strokes = 0;

const post = (type, extra = {}) => window.parent.postMessage({ isStreamlitMessage: true, type, ...extra }, '*');

function clear() {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  strokes = 0;
  pad.dataset.strokes = '0';
  find.disabled = true;
}

function at(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * (pad.width / r.width), (e.clientY - r.top) * (pad.height / r.height)];
}

function line(a, b) {
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = pad.width / 12; // about MNIST's stroke: 2-3 pixels of 28
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(...a);
  ctx.lineTo(...b);
  ctx.stroke();
}

pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  last = at(e);
  line(last, last);
  pad.setPointerCapture(e.pointerId);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const p = at(e);
  line(last, p);
  last = p;
});
const end = () => {
  if (!drawing) return;
  drawing = false;
  strokes += 1;
  pad.dataset.strokes = String(strokes);
  find.disabled = false;
};
pad.addEventListener('pointerup', end);
pad.addEventListener('pointercancel', end);
document.getElementById('clear').addEventListener('click', clear);
find.addEventListener('click', () => {
  post('streamlit:setComponentValue', { value: { png: pad.toDataURL('image/png'), at: Date.now() }, dataType: 'json' });
});

window.addEventListener('message', (event) => {
  const theme = event.data && event.data.type === 'streamlit:render' ? event.data.theme : null;
  if (theme && theme.textColor) document.documentElement.style.setProperty('--text', theme.textColor);
});
clear();
post('streamlit:componentReady', { apiVersion: 1 });
post('streamlit:setFrameHeight', { height: 250 });
