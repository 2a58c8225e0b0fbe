// cnn-maps: hovering over the feature-map grid (the server's picture, #cnn-feature-grid) outlines the cell under
// the pointer and the window of the layer's input that cell was computed from, and reads its value, with no
// request: props.value carries the grid's geometry (core.render's tile layout), the shown maps (packed) and the
// layer's window (kernel, stride, padding, dilation, input shape). A click still reaches the picture below (the
// overlay lets the pointer through), where the server computes the cell's full arithmetic.
const gb = window.glassbox;
const GRID = "cnn-feature-grid";
const readout = element.querySelector(".readout");
const hint = readout.textContent;
const overlay = document.createElement("canvas");
overlay.style.cssText = "position:absolute;pointer-events:none;z-index:5;";
let maps = null, shown = false;

const update = () => {
  const v = props.value;
  maps = v?.maps ? gb.unpack(v.maps) : null;
  clear();
};
const clear = () => {
  if (shown) overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
  shown = false;
  readout.textContent = hint;
};

// The tile and cell under picture pixel (x, y), as core.render.tile_at and tile_offset find them; null between
// tiles, in the header and on a tile's label.
const cellAt = (v, x, y) => {
  const across = x - v.pad, down = y - v.top - v.pad;
  const col = Math.floor(across / (v.cell + v.pad)), row = Math.floor(down / (v.cell + v.pad + v.label));
  const dx = across - col * (v.cell + v.pad), dy = down - row * (v.cell + v.pad + v.label);
  const i = row * v.columns + col;
  if (across < 0 || down < 0 || col >= v.columns || dx >= v.cell || dy >= v.cell || i >= v.channels.length) return null;
  const [h, w] = v.shape.slice(1);
  return {i, r: Math.floor((dy / v.cell) * h), c: Math.floor((dx / v.cell) * w), h, w,
          x0: v.pad + col * (v.cell + v.pad), y0: v.top + v.pad + row * (v.cell + v.pad + v.label)};
};

// Input rows (or columns) [first, last] that output index `o` reads: o·stride − padding + i·dilation, i < kernel.
const span = (o, k, s, p, d) => [o * s - p, o * s - p + (k - 1) * d];

const describe = (v, hit) => {
  const at = `${v.layer}[${v.channels[hit.i]}, ${hit.r}, ${hit.c}]`;
  const value = maps ? ` = ${gb.number(maps[(hit.i * hit.h + hit.r) * hit.w + hit.c], 4)}` : "";
  const win = v.window;
  if (!win) return `${at}${value}. A residual sum: no window of its own. Click for more.`;
  const [C, H, W] = win.input_shape;
  const [r0, r1] = span(hit.r, win.kernel[0], win.stride[0], win.padding[0], win.dilation[0]);
  const [c0, c1] = span(hit.c, win.kernel[1], win.stride[1], win.padding[1], win.dilation[1]);
  const over = r0 < 0 || c0 < 0 || r1 >= H || c1 >= W ? " (part of it is padding, outside the input)" : "";
  return `${at}${value}: computed from rows ${r0}–${r1}, columns ${c0}–${c1} of the layer's input ` +
         `(${C}×${H}×${W}), a ${win.kernel.join("×")} window, stride ${win.stride.join("×")}, padding ` +
         `${win.padding.join("×")}${over}. Click for its arithmetic.`;
};

// The cell (white over black) and its input window (orange), drawn on the tile at the input's own scale.
const outline = (v, hit, img) => {
  const host = document.getElementById(GRID), box = img.getBoundingClientRect(), at = host.getBoundingClientRect();
  if (overlay.parentElement !== host) host.appendChild(overlay);
  overlay.style.left = `${box.left - at.left}px`;
  overlay.style.top = `${box.top - at.top}px`;
  const k = box.width / img.naturalWidth, g = gb.context(overlay, box.width, box.height);
  const unit = (v.cell * k);
  const cx = (hit.x0 + (hit.c / hit.w) * v.cell) * k, cy = (hit.y0 + (hit.r / hit.h) * v.cell) * k;
  g.lineWidth = 3;
  g.strokeStyle = "#000";
  g.strokeRect(cx, cy, unit / hit.w, unit / hit.h);
  g.lineWidth = 1.5;
  g.strokeStyle = "#fff";
  g.strokeRect(cx, cy, unit / hit.w, unit / hit.h);
  const win = v.window;
  if (win) {
    const [, H, W] = win.input_shape;
    const [r0, r1] = span(hit.r, win.kernel[0], win.stride[0], win.padding[0], win.dilation[0]);
    const [c0, c1] = span(hit.c, win.kernel[1], win.stride[1], win.padding[1], win.dilation[1]);
    g.lineWidth = 2;
    g.strokeStyle = "#ea580c";
    g.strokeRect(hit.x0 * k + (c0 / W) * unit, hit.y0 * k + (r0 / H) * unit,
                 ((c1 + 1 - c0) / W) * unit, ((r1 + 1 - r0) / H) * unit);
  }
  shown = true;
};

document.addEventListener("pointermove", (e) => {
  const v = props.value, img = e.target.closest?.(`#${GRID} img`);
  const hit = v && img && img.naturalWidth === v.width ? cellAt(v, e.offsetX * img.naturalWidth / img.clientWidth,
                                                            e.offsetY * img.naturalHeight / img.clientHeight) : null;
  if (!hit) {
    if (shown) { clear(); gb.drawn(element); }
    return;
  }
  outline(v, hit, img);
  readout.textContent = describe(v, hit);
  gb.drawn(element);
});
watch("value", update);
update();
