// The scores view (#attn-scores): one head's Q·Kᵀ, sent once per head as float64 ("raw", −∞ where a causal mask
// hides a key), becomes scores = Q·Kᵀ/√d_k (or Q·Kᵀ) and weights = softmax(scores / T) row by row here, in the
// browser, whenever the temperature or the √d_k switch moves: no server request. Drawn like the server's figure
// was: scores blue-white-red symmetric around 0, weights Viridis from 0 to 1, each row's sum, grey where masked.
const gb = window.glassbox;
const NUMBERS_UP_TO = 16, LABELS_UP_TO = 48, TICK_EVERY = 10;  // as core/attention/figures.py
const range = element.querySelector("#attn-scores-temperature"), typed = element.querySelector(".scores-t");
const scale = element.querySelector("#attn-scores-scale"), canvas = element.querySelector("canvas");
const title = element.querySelector(".scores-title"), message = element.querySelector(".scores-message");
const tip = element.querySelector(".scores-tip");
for (const box of [range, typed]) [box.min, box.max] = [props.limits.lo, props.limits.hi];  // TEMPERATURE's range
const diverging = gb.unpack(props.colormaps.RdBu_r), viridis = gb.unpack(props.colormaps.Viridis);
let view = null;  // what the last drawing used, for hover, downloads and the tests: {n, scores, weights, ...}

// scores and weights in float64, as core.attention.text.scores and core.probability.softmax compute them.
const compute = (raw, n, dk, T, divide) => {
  const root = Math.sqrt(dk), scores = new Float64Array(n * n), weights = new Float64Array(n * n);
  for (let q = 0; q < n; q++) {
    let peak = -Infinity;
    for (let k = 0; k < n; k++) {
      const s = divide ? raw[q * n + k] / root : raw[q * n + k];
      scores[q * n + k] = s;
      if (Number.isFinite(s)) peak = Math.max(peak, s / T);
    }
    let total = 0;
    for (let k = 0; k < n; k++) {
      const s = scores[q * n + k], e = Number.isFinite(s) ? Math.exp(s / T - peak) : 0;
      weights[q * n + k] = e;
      total += e;
    }
    for (let k = 0; k < n; k++) weights[q * n + k] /= total;
  }
  return {scores, weights};
};

// A token as an axis label: every token while they fit, else every TICK_EVERY-th position.
const label = (tokens, i) => (tokens.length <= LABELS_UP_TO ? `${i}: ${tokens[i]}`
                                                            : i % TICK_EVERY === 0 ? String(i) : "");

// The temperature from the number box or the track, clamped into the track's range with a message that says so.
const temperature = (source) => {
  const lo = Number(range.min), hi = Number(range.max), t = Number(source.value);
  if (source.value === "" || !Number.isFinite(t)) {
    message.textContent = `Softmax temperature T takes a number from ${lo} to ${hi}: kept T = ${range.value}.`;
    return Number(range.value);
  }
  const used = Math.min(hi, Math.max(lo, t));
  message.textContent = used === t ? "" : `Softmax temperature T is from ${lo} to ${hi}: used ${used}.`;
  return used;
};

const draw = (T) => {
  const v = props.value;
  if (!v || !v.raw) {
    view = null;
    title.textContent = "";
    message.textContent = v?.message || "";
    gb.context(canvas, 1, 1);
    return;
  }
  const n = v.tokens.length, raw = gb.unpack(v.raw), divide = scale.checked;
  const {scores, weights} = compute(raw, n, v.d_k, T, divide);
  let peak = 0;
  for (const s of scores) if (Number.isFinite(s)) peak = Math.max(peak, Math.abs(s));
  peak = peak || 1;
  const ctx0 = canvas.getContext("2d");
  ctx0.font = "12px sans-serif";
  const margin = Math.min(150, 8 + Math.max(...v.tokens.map((_, i) => ctx0.measureText(label(v.tokens, i)).width)));
  const width = Math.max(360, element.clientWidth - 4);
  const cell = Math.max(4, Math.min(40, Math.floor((width - margin - 200) / (2 * n))));
  const side = cell * n, gap = 24, sumWidth = 70, top = margin + 8;
  const xs = margin, xw = xs + side + gap, xsum = xw + side + gap, xbar = xsum + sumWidth + gap;
  const ctx = gb.context(canvas, xbar + 70, top + side + 10), ink = gb.ink(element);
  gb.heatmap(ctx, scores, n, n, {x: xs, y: top, w: side, h: side, lo: -peak, hi: peak, lut: diverging,
                                 masked: "#e5e7eb"});
  gb.heatmap(ctx, weights.map((w, i) => (Number.isFinite(scores[i]) ? w : NaN)), n, n,
             {x: xw, y: top, w: side, h: side, lo: 0, hi: 1, lut: viridis, masked: "#e5e7eb"});
  gb.colorbar(ctx, {x: xbar, y: top, w: 12, h: Math.max(80, Math.min(side, 300)), lo: 0, hi: 1, lut: viridis,
                    label: "weight", ink});
  ctx.fillStyle = ink;
  ctx.font = `${Math.min(12, Math.max(8, cell))}px sans-serif`;
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  ctx.fillText("scores (pre-softmax)", xs, 14);
  ctx.fillText(`weights = softmax(scores / ${T})`, xw, 14);
  ctx.fillText("row sum", xsum, 14);
  // The token axes: queries down the left, keys along the top of both maps, at the cells' centres (upright where
  // cells are too narrow for slanted labels not to overlap).
  const font = ctx.font, centres = v.tokens.map((_, i) => i + 0.5), name = (c) => label(v.tokens, Math.floor(c));
  gb.axis(ctx, {side: "left", x: xs, y: top, length: side, lo: n, hi: 0, ticks: centres, format: name, tick: 0, font,
                ink});
  for (const x0 of [xs, xw]) {
    gb.axis(ctx, {side: "top", x: x0, y: top, length: side, lo: 0, hi: n, ticks: centres, format: name, tick: 0, font,
                  ink, angle: cell < 20 ? -Math.PI / 2 : -Math.PI / 3});
  }
  let worst = 0;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  for (let q = 0; q < n; q++) {  // each row's sum, printed where the rows are tall enough
    let sum = 0;
    for (let k = 0; k < n; k++) sum += weights[q * n + k];
    worst = Math.max(worst, Math.abs(sum - 1));
    if (cell >= 12) ctx.fillText(sum.toFixed(6), xsum, top + (q + 0.5) * cell);
  }
  if (n <= NUMBERS_UP_TO && cell >= 28) {  // the numbers in the cells, as the server's figure printed them
    ctx.textAlign = "center";
    ctx.font = "10px sans-serif";
    for (let i = 0; i < n * n; i++) {
      if (!Number.isFinite(scores[i])) continue;
      const cx = (i % n + 0.5) * cell, cy = top + (Math.floor(i / n) + 0.5) * cell;
      ctx.fillStyle = Math.abs(scores[i]) > 0.6 * peak ? "white" : "#111827";
      ctx.fillText(scores[i].toFixed(1), xs + cx, cy);
      ctx.fillStyle = weights[i] > 0.6 ? "#111827" : "white";
      ctx.fillText(weights[i].toFixed(2), xw + cx, cy);
    }
  }
  const what = divide ? `QKᵀ/√${v.d_k}` : "QKᵀ (no √d_k)";
  title.innerHTML = "";
  title.append(`${v.title}: scores = ${what}, weights at T = ${T}`);
  const sub = document.createElement("small");
  sub.textContent = `Scores: blue-white-red, symmetric around 0 (±${gb.number(peak)}). Weights: Viridis from 0 to 1. `
    + `${v.causal ? "Grey: masked. " : ""}Largest |row sum − 1| = ${worst.toExponential(1)}.`;
  title.append(sub);
  view = {layer: v.layer, head: v.head, n, T, scale: divide, scores, weights, tokens: v.tokens, cell, top, maps: [xs, xw]};
  gb.drawn(element, view);
};

const redraw = (source) => draw(temperature(source));
range.addEventListener("input", () => { typed.value = range.value; redraw(range); });
typed.addEventListener("change", () => { const t = temperature(typed); range.value = t; typed.value = t; draw(t); });
scale.addEventListener("change", () => redraw(range));
watch("value", () => redraw(range));
redraw(range);
// The maps are sized to the widget's width: redraw when it changes (a hidden tab opening, a narrower window).
let width = element.clientWidth;
new ResizeObserver(() => {
  if (element.clientWidth !== width && element.clientWidth > 0) {
    width = element.clientWidth;
    redraw(range);
  }
}).observe(element);
gb.download(element.querySelector(".scores-download"), canvas, "attention-scores.png");

// Hover: the query, the key, the score and the weight under the pointer.
canvas.addEventListener("pointermove", (e) => {
  if (!view) return;
  const {n, cell, top, maps, scores, weights, tokens} = view, y = e.offsetY - top;
  const map = maps.findIndex((x0) => e.offsetX >= x0 && e.offsetX < x0 + n * cell);
  const q = Math.floor(y / cell), k = map < 0 ? -1 : Math.floor((e.offsetX - maps[map]) / cell);
  if (map < 0 || q < 0 || q >= n || k < 0 || k >= n) { tip.hidden = true; return; }
  const i = q * n + k;
  tip.textContent = Number.isFinite(scores[i])
    ? `query ${q}: ${tokens[q]} → key ${k}: ${tokens[k]} · score ${gb.number(scores[i], 6)} · weight ${weights[i].toFixed(6)}`
    : `query ${q}: ${tokens[q]} → key ${k}: ${tokens[k]} · masked`;
  tip.style.left = `${e.offsetX + 12}px`;
  tip.style.top = `${e.offsetY + 12}px`;
  tip.hidden = false;
});
canvas.addEventListener("pointerleave", () => { tip.hidden = true; });
