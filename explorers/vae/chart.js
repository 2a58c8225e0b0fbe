// One of the VAE tab's charts (vae-code-a/b, vae-probabilities, vae-plausibility, vae-kl), drawn from the series
// charts.py sends: bars (with ±error whiskers) or lines with markers, on a left and an optional right y axis, with
// a legend, the values at the column under the pointer (or chosen with the arrow keys) and a PNG download. Drawn
// here rather than by plotly, whose redraw of four figures cost every new endpoint ~100-250 ms of page time each.
const gb = window.glassbox;
const canvas = element.querySelector(".vch-canvas"), title = element.querySelector(".vch-title");
const legend = element.querySelector(".vch-legend"), tip = element.querySelector(".vch-tip");
const PAD = {left: 58, right: 12, right2: 58, top: 10, bottom: 42};  // room for ticks and the axis titles
let data = null, hovered = null, box = null;

// An axis's range: `fixed` where the chart has one, else from 0 (bars and distances start there) to the data's
// extremes with their error bars, and a little room.
const range = (axis, fixed) => {
  if (fixed) return fixed;
  let lo = 0, hi = 0;
  for (const s of data.series.filter((s) => (s.axis || 1) === axis)) {
    s.y.forEach((v, i) => {
      const e = s.error ? s.error[i] : 0;
      lo = Math.min(lo, v - e);
      hi = Math.max(hi, v + e);
    });
  }
  const room = (hi - lo || 1) * 0.06;
  return [lo < 0 ? lo - room : lo, hi + room];
};

// The frame, the y axes (gb.axis: round ticks, grid lines, the axis names) and the x values under their bands.
const grid = (ctx, ink, b) => {
  const plot = {y: b.y0, length: b.y1 - b.y0, ink};
  gb.axis(ctx, {...plot, side: "left", x: b.x0, lo: b.ranges[1][0], hi: b.ranges[1][1], grid: b.x1 - b.x0,
                tick: 0, label: data.yTitle});
  if (data.y2Title) {
    gb.axis(ctx, {...plot, side: "right", x: b.x1, lo: b.ranges[2][0], hi: b.ranges[2][1], tick: 0,
                  label: data.y2Title});
  }
  ctx.font = "11px sans-serif";
  ctx.fillStyle = ink;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const every = Math.ceil(data.x.length / Math.max(1, Math.floor((b.x1 - b.x0) / 30)));  // labels that fit
  data.x.forEach((x, i) => { if (i % every === 0) ctx.fillText(String(x), b.toX(i), b.y1 + 4); });
  ctx.strokeStyle = "rgba(127,127,127,0.6)";
  ctx.lineWidth = 1;
  ctx.strokeRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
  ctx.font = "12px sans-serif";
  ctx.textBaseline = "bottom";
  ctx.fillText(data.xTitle, (b.x0 + b.x1) / 2, b.height - 2);
};

const bars = (ctx, b, s, k, count) => {
  const w = (b.band * 0.7) / count, zero = b.toY(0);
  s.y.forEach((v, i) => {
    const x = b.toX(i) - (b.band * 0.7) / 2 + k * w;
    ctx.fillStyle = s.colour;
    ctx.fillRect(x, Math.min(zero, b.toY(v)), w, Math.abs(b.toY(v) - zero));
    if (!s.error) return;
    const mid = x + w / 2, top = b.toY(v + s.error[i]), bottom = b.toY(v - s.error[i]);
    ctx.strokeStyle = "#6b7280";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(mid, top); ctx.lineTo(mid, bottom);
    ctx.moveTo(mid - 3, top); ctx.lineTo(mid + 3, top);
    ctx.moveTo(mid - 3, bottom); ctx.lineTo(mid + 3, bottom);
    ctx.stroke();
  });
};

const line = (ctx, b, s) => {
  const axis = s.axis || 1;
  ctx.strokeStyle = ctx.fillStyle = s.colour;
  ctx.lineWidth = 2;
  ctx.setLineDash(s.dash ? [2, 3] : []);
  ctx.beginPath();
  s.y.forEach((v, i) => (i ? ctx.lineTo(b.toX(i), b.toY(v, axis)) : ctx.moveTo(b.toX(i), b.toY(v, axis))));
  ctx.stroke();
  ctx.setLineDash([]);
  s.y.forEach((v, i) => { ctx.beginPath(); ctx.arc(b.toX(i), b.toY(v, axis), 2.5, 0, 2 * Math.PI); ctx.fill(); });
};

// The chart's frame: its size, the plot area, one band per x value, and the two axes' scales.
const frame = () => {
  const width = Math.max(260, element.clientWidth), height = data.height;
  const x0 = PAD.left, x1 = width - (data.y2Title ? PAD.right2 : PAD.right), y0 = PAD.top, y1 = height - PAD.bottom;
  const ranges = {1: range(1, data.yRange), 2: range(2, null)}, band = (x1 - x0) / data.x.length;
  const toY = (v, axis = 1) => y1 - ((v - ranges[axis][0]) / (ranges[axis][1] - ranges[axis][0])) * (y1 - y0);
  return {width, height, x0, x1, y0, y1, ranges, band, toX: (i) => x0 + band * (i + 0.5), toY};
};

const draw = () => {
  if (!data) return;
  const b = box = frame(), ink = gb.ink(element), ctx = gb.context(canvas, b.width, b.height);
  if (hovered !== null) {
    ctx.fillStyle = "rgba(127,127,127,0.14)";
    ctx.fillRect(b.x0 + b.band * hovered, b.y0, b.band, b.y1 - b.y0);
  }
  grid(ctx, ink, b);
  const barSeries = data.series.filter((s) => s.kind === "bar");
  barSeries.forEach((s, k) => bars(ctx, b, s, k, barSeries.length));
  data.series.filter((s) => s.kind !== "bar").forEach((s) => line(ctx, b, s));
  gb.drawn(element, {x: data.x, series: data.series.map((s) => ({name: s.name, y: s.y}))});
};

// The values at column i in a box beside it: what plotly's hover showed.
const showTip = (i) => {
  if (i === null) { tip.hidden = true; return; }
  const value = (s) => `${s.y[i].toFixed(3)}${s.error ? ` ± ${s.error[i].toFixed(3)}` : ""}${s.unit || ""}`;
  tip.textContent = [`${data.xName}${data.x[i]}`, ...data.series.map((s) => `${s.name}: ${value(s)}`)].join("\n");
  tip.hidden = false;
  const x = box.toX(i), right = x > box.width / 2;
  tip.style.left = right ? "" : `${x + box.band / 2 + 6}px`;
  tip.style.right = right ? `${box.width - x + box.band / 2 + 6}px` : "";
  tip.style.top = `${box.y0 + 4}px`;
};

const hover = (i) => {
  if (i === hovered) return;
  hovered = i;
  draw();
  showTip(i);
};

canvas.addEventListener("pointermove", (e) => {
  if (!data) return;
  const i = Math.floor((e.offsetX - box.x0) / box.band);
  hover(i >= 0 && i < data.x.length && e.offsetY >= box.y0 && e.offsetY <= box.y1 ? i : null);
});
canvas.addEventListener("pointerleave", () => hover(null));
canvas.addEventListener("blur", () => hover(null));
canvas.addEventListener("keydown", (e) => {
  const step = {ArrowLeft: -1, ArrowRight: 1}[e.key];
  if (!data || !step) return;
  hover(Math.max(0, Math.min(data.x.length - 1, (hovered ?? (step > 0 ? -1 : data.x.length)) + step)));
  e.preventDefault();
});

const drawLegend = () => {
  legend.replaceChildren(...(data.series.length > 1 ? data.series : []).map((s) => {
    const item = document.createElement("span"), mark = document.createElement("i");
    mark.style.borderTopColor = s.colour;
    if (s.dash) mark.className = "vch-dash";
    item.append(mark, s.name);
    return item;
  }));
};

gb.download(element.querySelector(".vch-download"), canvas, `${gb.id(element)}.png`);

// A new value from Python: a new endpoint, path or model.
const update = () => {
  data = props.value && props.value.series ? props.value : null;
  if (!data) return;
  title.textContent = data.title;
  hovered = null;
  showTip(null);
  drawLegend();
  draw();
};
watch("value", update);
update();
new ResizeObserver(() => draw()).observe(element);
