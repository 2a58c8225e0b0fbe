// cnn-draw: a drawing pad whose every stroke is read by the bundled cnn while it is drawn. Each move of the pen
// samples the pad down to 28×28 and asks the conv_draw endpoint (gb.latest: one request in flight, the newest
// drawing wins); its probabilities and conv1's maps are drawn here. props.value holds the drawing's 28×28 grey
// levels, which the section's "Use the drawing" button reads, so the full views follow the same picture; the pen's
// lift sends it too (the pad's "submit" event, network_layout.wire).
const gb = window.glassbox;
// 7 screen pixels per model pixel, so the pad and its live views fit beside the layer overview; the pen is about
// 2 model pixels wide.
const SIDE = 196, SMALL = 28, PEN = 12.5;
// The live views' sizes, kept from the start (and after Clear), so the first answer does not move the page: ten
// bars (the bundled cnn's classes) and conv1's 8 maps, four to a row.
const ROW_H = 15, LABEL_W = 76, BAR_W = 96, CLASSES = 10;
const CELL = 36, GAP = 5, LABEL_H = 14, COLS = 4, MAPS = 8, MAPS_BAR_W = 10;
const BARS_SIZE = [LABEL_W + BAR_W + 40, ROW_H * CLASSES];
const MAPS_SIZE = [COLS * (CELL + GAP) + MAPS_BAR_W + 40, Math.ceil(MAPS / COLS) * (CELL + GAP + LABEL_H)];
const pad = element.querySelector(".pad"), bars = element.querySelector(".bars");
const mapsCanvas = element.querySelector(".maps"), status = element.querySelector(".status");
const lut = gb.unpack(props.colormaps.RdBu_r);
const ink = gb.ink(element);
const ctx = gb.context(pad, SIDE, SIDE);
const small = document.createElement("canvas");
small.width = small.height = SMALL;
const smallCtx = small.getContext("2d", {willReadFrequently: true});
let pen = null, generation = 0;

const blank = () => {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, SIDE, SIDE);
  gb.context(bars, ...BARS_SIZE);
  gb.context(mapsCanvas, ...MAPS_SIZE);
};

// The pad as the model's input: 28 rows of 28 grey levels (0 ink, 255 paper), averaged as the picture shrinks.
const pixels = () => {
  smallCtx.imageSmoothingEnabled = true;
  smallCtx.imageSmoothingQuality = "high";
  smallCtx.drawImage(pad, 0, 0, SMALL, SMALL);
  const rgba = smallCtx.getImageData(0, 0, SMALL, SMALL).data;
  return Array.from({length: SMALL}, (_, r) => Array.from({length: SMALL}, (_, c) => rgba[4 * (r * SMALL + c)]));
};

// One bar per class, the predicted one in the accent colour, with its probability.
const drawBars = (labels, probs) => {
  const g = gb.context(bars, BARS_SIZE[0], ROW_H * labels.length);
  const top = probs.indexOf(Math.max(...probs));
  g.font = "12px sans-serif";
  g.textBaseline = "middle";
  labels.forEach((label, i) => {
    const y = i * ROW_H;
    g.fillStyle = ink;
    g.textAlign = "right";
    g.fillText(label, LABEL_W - 6, y + ROW_H / 2);
    g.fillStyle = i === top ? "#ea580c" : "#9ca3af";
    g.fillRect(LABEL_W, y + 3, Math.max(1, probs[i] * BAR_W), ROW_H - 6);
    g.fillStyle = ink;
    g.textAlign = "left";
    g.fillText(probs[i].toFixed(3), LABEL_W + BAR_W + 6, y + ROW_H / 2);
  });
};

// The maps on one blue-white-red scale from -peak to +peak, four to a row, each under its channel number.
const drawMaps = (result) => {
  const maps = gb.unpack(result.maps);
  const [n, h, w] = maps.shape, rows = Math.ceil(n / COLS);
  const g = gb.context(mapsCanvas, MAPS_SIZE[0], rows * (CELL + GAP + LABEL_H));
  const peak = result.peak > 0 ? result.peak : 1;
  g.font = "11px sans-serif";
  g.textBaseline = "top";
  g.textAlign = "center";
  for (let i = 0; i < n; i++) {
    const x = (i % COLS) * (CELL + GAP), y = Math.floor(i / COLS) * (CELL + GAP + LABEL_H);
    g.fillStyle = ink;
    g.fillText(`ch ${result.channels[i]}`, x + CELL / 2, y);
    gb.heatmap(g, maps.subarray(i * h * w, (i + 1) * h * w), h, w,
               {x, y: y + LABEL_H, w: CELL, h: CELL, lo: -peak, hi: peak, lut});
  }
  const barH = rows * (CELL + GAP + LABEL_H) - LABEL_H - GAP;
  gb.colorbar(g, {x: COLS * (CELL + GAP), y: LABEL_H, w: MAPS_BAR_W, h: barH, lo: -peak, hi: peak, lut, ink});
};

const predict = gb.latest(async () => {
  const round = generation, grey = pixels();
  props.value = {pixels: grey};  // what "Use the drawing" sends
  pad.dataset.asked = JSON.stringify(grey);  // tests wait until the pixels shown are the ones last asked for
  const result = await gb.call("conv_draw", [grey, 1.0]);
  if (round !== generation) return;  // cleared while the answer was on its way
  drawBars(result.labels, result.probabilities);
  drawMaps(result);
  status.textContent = `Predicted: ${result.predicted_label}, p = ${result.probabilities[result.predicted].toFixed(3)}.`;
  // The drawing and the probabilities shown, for tests and for anyone who wants the numbers.
  pad.dataset.pixels = JSON.stringify(grey);
  bars.dataset.probabilities = JSON.stringify(result.probabilities);
  performance.mark("cnn-prediction:drawn");
  gb.drawn(element);
}, (e) => { status.textContent = e.message; });

const at = (e) => {
  const box = pad.getBoundingClientRect();
  return [(e.clientX - box.left) * SIDE / box.width, (e.clientY - box.top) * SIDE / box.height];
};

const stroke = (to) => {
  ctx.strokeStyle = "#000";
  ctx.lineWidth = PEN;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(...pen);
  ctx.lineTo(...to);
  ctx.stroke();
  pen = to;
  predict();
};

pad.addEventListener("pointerdown", (e) => {
  pad.setPointerCapture(e.pointerId);
  pen = at(e);
  stroke(pen);  // a click alone leaves a dot
});
pad.addEventListener("pointermove", (e) => { if (pen) stroke(at(e)); });
pad.addEventListener("pointercancel", () => { pen = null; });
// A finished stroke becomes the section's input, so the overview, the maps and the prediction follow the pen's lift:
// the pad's drawing as it is now (the last answer may still be on its way), sent by the pad's "submit" event.
pad.addEventListener("pointerup", () => {
  if (!pen) return;
  pen = null;
  props.value = {pixels: pixels()};
  trigger("submit");
});

element.querySelector(".clear").addEventListener("click", () => {
  generation++;
  blank();
  props.value = null;
  delete pad.dataset.pixels;
  delete pad.dataset.asked;
  status.textContent = "Cleared: draw again.";
});
gb.download(element.querySelector(".download"), pad, "drawing.png");
blank();
