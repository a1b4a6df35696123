// A drawing pad for Explore's "Find your image": white ink on black by default (MNIST's way round);
// for a colour model any ink, on a black, white or (for a model with alpha) transparent page, kept
// as it is in the PNG so the target keeps its colours and alpha. "Find my drawing" sends the picture
// to the page as a PNG data URL (setComponentValue); nothing is sent while drawing. Streamlit's
// component protocol is spoken directly (postMessage), as in ../morph_web. The page may pass
// `channels` (the model's C): 1 hides the ink colour, and only 4 offers the transparent page;
// without it every choice is offered.

const pad = document.getElementById('pad');
const ctx = pad.getContext('2d');
const find = document.getElementById('find');
const inkBox = document.getElementById('ink');
const pageBox = document.getElementById('page');
let drawing = false;
let last = null;
let strokes = 0;

const post = (type, extra = {}) => window.parent.postMessage({ isStreamlitMessage: true, type, ...extra }, '*');

function clear() {
  ctx.clearRect(0, 0, pad.width, pad.height);
  pad.dataset.page = pageBox.value;
  if (pageBox.value !== 'transparent') {
    ctx.fillStyle = pageBox.value;
    ctx.fillRect(0, 0, pad.width, pad.height);
  }
  strokes = 0;
  pad.dataset.strokes = '0';
  find.disabled = true;
}

function at(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * (pad.width / r.width), (e.clientY - r.top) * (pad.height / r.height)];
}

function line(a, b) {
  ctx.strokeStyle = inkBox.value;
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
pageBox.addEventListener('change', clear); // a new page is a new drawing: strokes keep no colour of their own
find.addEventListener('click', () => {
  post('streamlit:setComponentValue', { value: { png: pad.toDataURL('image/png'), at: Date.now() }, dataType: 'json' });
});

function offerChoices(channels) {
  if (channels === undefined || channels === null) return;
  document.getElementById('ink-choice').hidden = channels === 1;
  const transparent = pageBox.querySelector('option[value=transparent]');
  transparent.hidden = channels !== 4;
  if (channels !== 4 && pageBox.value === 'transparent') {
    pageBox.value = '#000000';
    clear();
  }
}

window.addEventListener('message', (event) => {
  if (!event.data || event.data.type !== 'streamlit:render') return;
  const theme = event.data.theme;
  if (theme && theme.textColor) document.documentElement.style.setProperty('--text', theme.textColor);
  offerChoices(event.data.args ? event.data.args.channels : undefined);
});
clear();
post('streamlit:componentReady', { apiVersion: 1 });
post('streamlit:setFrameHeight', { height: 290 });
