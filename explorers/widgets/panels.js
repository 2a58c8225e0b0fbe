// panels: heatmaps side by side under a title, with their colour bars (a core.render.Panels, sent by
// explorers.widgets.panels_value): the CNN section's kernels, one channel, and one cell's arithmetic. Drawn here
// because a plotly figure cost the page a redraw of its own on every new image; the pointer reads the value under
// it, as plotly's hover did.
const gb = window.glassbox;
const grid = element.querySelector(".grid"), scales = element.querySelector(".scales");
const readout = element.querySelector(".readout"), tip = element.querySelector(".gb-tip");
const title = element.querySelector(".title"), subtitle = element.querySelector(".subtitle");
const NUMBER_CELL = 32;   // canvas pixels per value where the numbers are written in (their text needs room)
const MAX_SIDE = 240;     // CSS pixels: a panel is never drawn larger, however few share the row
const BAR = {w: 12, h: 110, width: 96};
let shown = [];           // per panel: {title, name, z, h, w, rgb}
const luts = {};          // colour maps, unpacked once
const lut = (name) => (luts[name] ??= gb.unpack(props.colormaps[name]));

// An RGB panel's values (h×w×3) as pixels: each of R, G, B from dark at lo to bright at hi.
const rgb = (p, z, h, w) => {
  const image = new ImageData(w, h), span = p.hi > p.lo ? p.hi - p.lo : 1;
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < 3; k++) image.data[4 * i + k] = Math.round(255 * Math.min(1, Math.max(0, (z[3 * i + k] - p.lo) / span)));
    image.data[4 * i + 3] = 255;
  }
  return image;
};

// Each value written in its cell, dark or light to read on the cell's colour.
const numbers = (ctx, image, z, h, w) => {
  ctx.font = "11px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let i = 0; i < h * w; i++) {
    if (!Number.isFinite(z[i])) continue;
    const [r, g, b] = image.data.slice(4 * i, 4 * i + 3);
    ctx.fillStyle = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#111827" : "#ffffff";
    ctx.fillText(z[i].toFixed(2), ((i % w) + 0.5) * NUMBER_CELL, (Math.floor(i / w) + 0.5) * NUMBER_CELL);
  }
};

const panel = (p, i) => {
  const z = gb.unpack(p.z), [h, w] = z.shape;
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = p.title;
  const canvas = document.createElement("canvas");
  const cell = p.numbers ? NUMBER_CELL : 1;
  canvas.width = w * cell;
  canvas.height = h * cell;
  canvas.style.maxWidth = `${(MAX_SIDE * w) / Math.max(h, w)}px`;
  canvas.dataset.i = i;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${p.title}: ${h}×${w} ${p.name}`);
  const ctx = canvas.getContext("2d"), size = {x: 0, y: 0, w: canvas.width, h: canvas.height};
  let image;
  if (p.cmap) {
    image = gb.heatmap(ctx, z, h, w, {...size, lo: p.lo, hi: p.hi, lut: lut(p.cmap)});
  } else {
    image = rgb(p, z, h, w);
    gb.image(ctx, image, size.x, size.y, size.w, size.h);
  }
  if (p.numbers) numbers(ctx, image, z, h, w);
  figure.append(caption, canvas);
  shown.push({title: p.title, name: p.name, z, h, w, rgb: !p.cmap});
  return figure;
};

const scale = (s) => {
  const canvas = document.createElement("canvas");
  const ctx = gb.context(canvas, BAR.width, BAR.h + 8);
  gb.colorbar(ctx, {x: 2, y: 4, w: BAR.w, h: BAR.h, lo: s.lo, hi: s.hi, lut: lut(s.cmap),
                    label: s.label, ink: gb.ink(element)});  // the canvas is not in the page yet: no colour of its own
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `colour bar: ${s.label} from ${gb.number(s.lo)} to ${gb.number(s.hi)}`);
  return canvas;
};

const draw = () => {
  const v = props.value;
  if (!v) return;
  title.textContent = v.title;
  subtitle.textContent = v.subtitle;
  title.classList.toggle("gb-message", !v.panels.length);
  shown = [];
  const spans = v.panels.map((p) => p.span);
  grid.style.gridTemplateColumns = v.columns ? `repeat(${v.columns}, minmax(0, 1fr))`
    : spans.map((s) => `minmax(0, ${s}fr)`).join(" ");
  grid.replaceChildren(...v.panels.map(panel));
  scales.replaceChildren(...v.scales.map(scale));
  readout.textContent = v.panels.length ? "Point at a panel to read its values." : "";
  gb.drawn(element, {title: v.title, panels: v.panels.map((p) => p.title)});
};

// A value as the readout says it: a masked cell (a max pool's padding, sent as NaN) is padding, not a number.
const reading = (v) => (Number.isFinite(v) ? gb.number(v, 4) : "padding (−∞)");

// The value under the pointer, in the readout line and a tip beside the pointer (on its left in the widget's right
// half, so that it never runs past the widget's edge); over a caption or a gap, no tip.
grid.addEventListener("pointermove", (e) => {
  const canvas = e.target.closest("canvas");
  const p = canvas && shown[canvas.dataset.i];
  if (!p) { tip.hidden = true; return; }
  const box = canvas.getBoundingClientRect();
  const r = Math.min(p.h - 1, Math.floor(((e.clientY - box.top) / box.height) * p.h));
  const c = Math.min(p.w - 1, Math.floor(((e.clientX - box.left) / box.width) * p.w));
  const at = r * p.w + c;
  const value = p.rgb ? [0, 1, 2].map((k) => reading(p.z[3 * at + k])).join(", ") : reading(p.z[at]);
  readout.textContent = tip.textContent = `${p.title} (${r}, ${c}): ${p.name} = ${value}`;
  const root = element.firstElementChild.getBoundingClientRect(), x = e.clientX - root.left;
  const right = x > root.width / 2;
  tip.style.left = right ? "" : `${x + 12}px`;
  tip.style.right = right ? `${root.width - x + 12}px` : "";
  tip.style.top = `${e.clientY - root.top + 12}px`;
  tip.hidden = false;
});
grid.addEventListener("pointerleave", () => { tip.hidden = true; });

// The download: the figure as it is on the page (title, captions, panels, colour bars) in one PNG.
element.querySelector(".download").addEventListener("click", () => {
  const root = element.firstElementChild, box = root.getBoundingClientRect();
  const out = document.createElement("canvas");
  const ctx = gb.context(out, box.width, grid.parentElement.getBoundingClientRect().bottom - box.top + 4);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, out.width, out.height);
  // A node's text where the page shows it: left-aligned, or centred in its box (the captions), cut to its width.
  const text = (node, font, centred = false) => {
    const b = node.getBoundingClientRect();
    ctx.font = font;
    ctx.fillStyle = "#111827";
    ctx.textAlign = centred ? "center" : "left";
    ctx.textBaseline = "top";
    ctx.fillText(node.textContent, (centred ? b.left + b.width / 2 : b.left) - box.left, b.top - box.top, b.width);
  };
  text(title, "600 14px sans-serif");
  if (subtitle.textContent) text(subtitle, "12px sans-serif");
  ctx.imageSmoothingEnabled = false;
  for (const c of element.querySelectorAll(".grid canvas, .scales canvas")) {
    const b = c.getBoundingClientRect();
    ctx.drawImage(c, b.left - box.left, b.top - box.top, b.width, b.height);
  }
  for (const f of element.querySelectorAll("figcaption")) text(f, "12px sans-serif", true);
  gb.save(out.toDataURL("image/png"), `${gb.id(element)}.png`);
});

watch("value", draw);
draw();
