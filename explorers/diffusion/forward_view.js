// forward_view.js: the Diffusion tab's forward process, drawn in the browser. Python sends x_0 and ε (float32,
// [C, H, W]) and ᾱ_1 … ᾱ_T (float64) once per image, seed and schedule (forward.view_value); moving t redraws
// x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε and the charts' marker here, with no request to the server.
const gb = window.glassbox;
const range = element.querySelector("#diff-forward-t");
const readout = element.querySelector(".dfv-readout");
const picture = element.querySelector(".dfv-picture");
const charts = element.querySelector(".dfv-charts");
gb.download(element.querySelector(".dfv-download"), picture, "x_t.png");

const CHART = {w: 330, h: 270, left: 48, right: 14, panel: 82};   // two panels of ᾱ_t and SNR(t), in CSS px
let data = null;   // the value's arrays, unpacked once
let t = null;      // the t shown: the browser's own state, kept across new values

const alphaBar = (s) => (s === 0 ? 1 : data.alphaBar[s - 1]);   // t = 0 is the clean image
const snr = (s) => alphaBar(s) / (1 - alphaBar(s));

// x_t's picture: each value as core.diffusion.figures.levels makes it, (x + 1)·127.5 clipped into 0 … 255 and
// rounded, so the browser's levels are the diffusion_forward endpoint's (to rounding); grey when C = 1.
function drawPicture(a) {
  const [C, H, W] = data.x0.shape, n = H * W;
  const signal = Math.sqrt(a), noise = Math.sqrt(1 - a);
  const image = new ImageData(W, H);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const k = (C === 1 ? 0 : c) * n + i;
      const level = Math.round((signal * data.x0[k] + noise * data.eps[k] + 1) * 127.5);
      image.data[4 * i + c] = Math.max(0, Math.min(255, level));
    }
    image.data[4 * i + 3] = 255;
  }
  const w = data.side, h = Math.round((data.side * H) / W);
  gb.image(gb.context(picture, w, h), image, 0, 0, w, h);
}

// One panel: f(s) for s = 1 … T in the box (CHART.left, y, w, h), y from lo to hi (log10 when `log`) on gb.axis's
// scales, a dashed level at `rule`, and the t shown marked with a vertical line and a dot.
function panel(ctx, {y, title, f, lo, hi, log, rule, ink, name = ""}) {
  const x = CHART.left, w = CHART.w - CHART.left - CHART.right, h = CHART.panel, T = data.T;
  const px = gb.axis(ctx, {side: "bottom", x, y: y + h, length: w, lo: 0, hi: T, label: name, ink});
  const scale = gb.axis(ctx, {side: "left", x, y, length: h, lo, hi, log, count: 3, grid: w, ink});
  const py = (v) => scale(Math.min(Math.max(v, lo), hi));
  ctx.strokeStyle = "#9ca3af";
  ctx.lineWidth = 1;
  ctx.strokeRect(x, y, w, h);
  if (rule !== undefined) {
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(x, py(rule)); ctx.lineTo(x + w, py(rule)); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.strokeStyle = data.colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  const every = Math.max(1, Math.floor(T / w));   // about one point per pixel
  for (let s = 1; s <= T; s += every) (s === 1 ? ctx.moveTo : ctx.lineTo).call(ctx, px(s), py(f(s)));
  ctx.lineTo(px(T), py(f(T)));
  ctx.stroke();
  ctx.strokeStyle = ink;
  ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(px(t), y); ctx.lineTo(px(t), y + h); ctx.stroke();
  ctx.fillStyle = ink;
  ctx.beginPath(); ctx.arc(px(t), py(f(t)), 4, 0, 2 * Math.PI); ctx.fill();
  ctx.font = "12px sans-serif";
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  ctx.fillText(title, x, y - 3);
}

function drawCharts() {
  const ctx = gb.context(charts, CHART.w, CHART.h), ink = gb.ink(element);
  // SNR's decades: from ᾱ_1's (the largest) down to ᾱ_T's, at least 1e-8 (the cosine schedule's ᾱ_T is ~0)
  const hi = 10 ** Math.ceil(Math.log10(snr(1))), lo = 10 ** Math.floor(Math.log10(Math.max(snr(data.T), 1e-8)));
  panel(ctx, {y: 20, title: "ᾱ_t (the signal's share of the variance)", f: alphaBar, lo: 0, hi: 1, ink});
  panel(ctx, {y: 20 + CHART.panel + 44, title: "SNR(t) = ᾱ_t / (1 − ᾱ_t), log scale; 1 dashed", f: snr, lo, hi,
              log: true, rule: 1, ink, name: "t"});
}

function draw() {
  if (!data) return;
  const a = alphaBar(t);
  drawPicture(a);
  drawCharts();
  const ratio = t === 0 ? "∞ (the image itself)" : gb.number(snr(t), 4);
  readout.textContent = `t = ${t} of T = ${data.T} (${data.kind}): x_t = ${Math.sqrt(a).toFixed(4)}·x₀ + `
                        + `${Math.sqrt(1 - a).toFixed(4)}·ε, ᾱ_t = ${gb.number(a, 4)}, SNR = ${ratio}`;
  range.setAttribute("aria-valuetext", `t = ${t} of ${data.T}`);
  picture.dataset.t = t;   // which t the picture shows, for tests
  gb.drawn(element);
}

// A new value (a new image, seed or schedule): its arrays, and t kept; when T changes (the T mismatch) t is
// scaled with it, so the same fraction of the way to pure noise stays shown.
function load() {
  const v = props.value;
  if (!v || !v.x0) return;
  t = data ? Math.round((t * v.T) / data.T) : v.t;
  data = {x0: gb.unpack(v.x0), eps: gb.unpack(v.eps), alphaBar: gb.unpack(v.alpha_bar), T: v.T, kind: v.kind,
          colour: v.colour, side: v.side};
  range.max = String(v.T);
  range.value = String(t);
  draw();
}

range.addEventListener("input", () => { t = Number(range.value); draw(); });
watch("value", load);
load();
