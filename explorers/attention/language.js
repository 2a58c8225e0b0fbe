// The next-token view (#lm-next): the last position's full logits arrive once per prompt (float64), and the cuts a
// sampler makes are computed here, in the browser, whenever temperature, top-k or top-p move: no server request.
// The maths is transformers' warpers in generate()'s order (core/attention/language.py uses the same ones): divide
// by T; top-k keeps every token whose score is at least the k-th largest (ties kept); top-p sorts ascending and
// removes the tokens whose cumulative probability is ≤ 1 − p, always keeping the most likely; then a softmax.
// The settings live in props.value.settings, which the Python step and generate handlers read.
const gb = window.glassbox;
const canvas = element.querySelector("canvas"), title = element.querySelector(".lm-title");
const message = element.querySelector(".lm-message");
const LIMITS = {temperature: [0.01, 100, false], top_k: [0, 100000, true], top_p: [0.01, 1, false]};  // the API's
const ranges = {temperature: element.querySelector("#lm-temperature"), top_k: element.querySelector("#lm-top-k"),
                top_p: element.querySelector("#lm-top-p")};
const boxes = Object.fromEntries([...element.querySelectorAll(".lm-box")].map((b) => [b.dataset.name, b]));
const CUT = ["", "top-k", "top-p"];  // what removed a token
const RAW = "#9ca3af", KEPT = "#4f46e5";
let settings = {temperature: 1, top_k: 0, top_p: 1, ...(props.value?.settings || {})};
let clamped = "";  // what the last control change had to clamp, said until the next change

const softmax = (s) => {
  let peak = -Infinity;
  for (const v of s) peak = Math.max(peak, v);
  const p = Float64Array.from(s, (v) => (v === -Infinity ? 0 : Math.exp(v - peak)));
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / total);
};

// {filtered, removed}: the probabilities after the cuts, and per token 0 (kept), 1 (top-k) or 2 (top-p).
const warp = (logits, {temperature, top_k, top_p}) => {
  const n = logits.length, s = Float64Array.from(logits, (z) => z / temperature), removed = new Uint8Array(n);
  if (top_k > 0) {
    const kth = Float64Array.from(s).sort()[n - Math.min(top_k, n)];
    for (let i = 0; i < n; i++) if (s[i] < kth) { s[i] = -Infinity; removed[i] = 1; }
  }
  if (top_p < 1) {
    const order = Array.from(s.keys()).sort((a, b) => s[a] - s[b] || a - b);
    const p = softmax(order.map((i) => s[i]));
    let cumulative = 0;
    order.forEach((i, r) => {
      cumulative += p[r];
      if (cumulative <= 1 - top_p && r < n - 1) {
        if (!removed[i]) removed[i] = 2;
        s[i] = -Infinity;
      }
    });
  }
  return {filtered: softmax(s), removed};
};

// A control's value from its range or box, clamped into the API's range with a message that says so.
const read = (name, source) => {
  const [lo, hi, whole] = LIMITS[name], v = Number(source.value);
  if (source.value === "" || !Number.isFinite(v)) {
    clamped = `${name} takes a number from ${lo} to ${hi}: kept ${settings[name]}.`;
    return settings[name];
  }
  const used = Math.min(hi, Math.max(lo, whole ? Math.round(v) : v));
  clamped = used === v ? "" : `${name} is from ${lo} to ${hi}: used ${used}.`;
  return used;
};

const show = () => {
  for (const name of Object.keys(LIMITS)) {
    ranges[name].value = settings[name];
    boxes[name].value = settings[name];
  }
};

// The value keeps the settings, so a Python handler reading the widget uses what the person sees.
const keep = () => {
  if (JSON.stringify(props.value?.settings) !== JSON.stringify(settings)) {
    props.value = {...(props.value || {}), settings: {...settings}};
  }
};

const draw = () => {
  const v = props.value;
  if (!v?.logits) {
    title.textContent = "";
    message.textContent = v?.message || "Press Run to see the next token.";
    gb.context(canvas, 1, 1);
    gb.drawn(element, null);
    return;
  }
  message.textContent = clamped;
  const logits = gb.unpack(v.logits), raw = softmax(logits), {filtered, removed} = warp(logits, settings);
  ranges.top_k.max = Math.min(100, v.vocab_size);
  const kept = removed.reduce((a, r) => a + (r === 0), 0), rows = v.candidates;
  const width = Math.max(360, element.clientWidth - 4), row = 22, label = 70, numbers = 210;
  const bars = width - label - numbers - 16, ctx = gb.context(canvas, width, rows.length * row + 8);
  const ink = gb.ink(element);
  let peak = 1e-12;
  for (const c of rows) peak = Math.max(peak, raw[c.id], filtered[c.id]);
  ctx.textBaseline = "middle";
  rows.forEach((c, r) => {
    const y = 4 + r * row, cut = removed[c.id];
    ctx.globalAlpha = cut ? 0.45 : 1;
    ctx.fillStyle = ink;
    ctx.font = "14px monospace";  // l and I, 0 and O told apart
    ctx.textAlign = "right";
    ctx.fillText(c.token, label - 8, y + row / 2);
    if (cut) {  // struck through: the cut removed it
      const w = ctx.measureText(c.token).width;
      ctx.fillRect(label - 8 - w - 1, y + row / 2, w + 2, 1.5);
    }
    ctx.fillStyle = RAW;  // upper half: the model's probability; lower half: after the cuts
    ctx.fillRect(label, y + 3, bars * raw[c.id] / peak, (row - 6) / 2);
    ctx.fillStyle = KEPT;
    ctx.fillRect(label, y + row / 2, bars * filtered[c.id] / peak, (row - 6) / 2);
    ctx.fillStyle = ink;
    ctx.font = "13px sans-serif";
    ctx.textAlign = "left";
    const after = cut ? `cut by ${CUT[cut]}` : `${(100 * filtered[c.id]).toFixed(2)}%`;
    ctx.fillText(`${(100 * raw[c.id]).toFixed(2)}% → ${after}`, label + bars + 12, y + row / 2);
  });
  ctx.globalAlpha = 1;
  title.innerHTML = "";
  title.append(`Next token after “${v.after}”: ${kept} of ${v.vocab_size} tokens kept (T = ${settings.temperature}, `
               + `top-k = ${settings.top_k || "off"}, top-p = ${settings.top_p === 1 ? "off" : settings.top_p})`);
  const sub = document.createElement("small");
  sub.textContent = `The ${rows.length} most likely tokens. Grey: the model's probability, softmax(logits). `
    + "Indigo: after temperature, top-k and top-p, what a draw uses. Struck through: removed by a cut.";
  title.append(sub);
  gb.drawn(element, {settings: {...settings}, kept, ids: rows.map((c) => c.id),
                     raw: rows.map((c) => raw[c.id]), filtered: rows.map((c) => filtered[c.id]),
                     removed: rows.map((c) => CUT[removed[c.id]])});
};

for (const name of Object.keys(LIMITS)) {
  const change = (source) => { settings[name] = read(name, source); show(); keep(); draw(); };
  ranges[name].addEventListener("input", () => change(ranges[name]));
  boxes[name].addEventListener("change", () => change(boxes[name]));
}
// A new value from Python (a new prompt, a step): the settings on the page stay as the person left them.
watch("value", () => { keep(); draw(); });
show();
keep();
draw();
let width = element.clientWidth;  // redraw at a new width: a hidden tab opening, a narrower window
new ResizeObserver(() => {
  if (element.clientWidth !== width && element.clientWidth > 0) {
    width = element.clientWidth;
    draw();
  }
}).observe(element);
gb.download(element.querySelector(".lm-download"), canvas, "next-token.png");
