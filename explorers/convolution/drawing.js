// cnn-draw: a drawing pad whose every stroke is read by the bundled cnn while it is drawn. Each move of the pen
// samples the pad down to 28×28 and asks the conv_draw endpoint (gb.latest: one request in flight, the newest
// drawing wins); its probabilities and conv1's maps are drawn here. props.value holds the drawing's 28×28 grey
// levels, which the section's "Use the drawing" button reads, so the full views follow the same picture.
const gb = window.glassbox;
const SIDE = 252, SMALL = 28, PEN = 16;  // 9 screen pixels per model pixel; the pen is about 2 model pixels wide
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
  const rowH = 18, labelW = 80, barW = 110;
  const g = gb.context(bars, labelW + barW + 44, rowH * labels.length);
  const top = probs.indexOf(Math.max(...probs));
  g.font = "12px sans-serif";
  g.textBaseline = "middle";
  labels.forEach((label, i) => {
    const y = i * rowH;
    g.fillStyle = ink;
    g.textAlign = "right";
    g.fillText(label, labelW - 6, y + rowH / 2);
    g.fillStyle = i === top ? "#ea580c" : "#9ca3af";
    g.fillRect(labelW, y + 3, Math.max(1, probs[i] * barW), rowH - 6);
    g.fillStyle = ink;
    g.textAlign = "left";
    g.fillText(probs[i].toFixed(3), labelW + barW + 6, y + rowH / 2);
  });
};

// The maps on one blue-white-red scale from -peak to +peak, four to a row, each under its channel number.
const drawMaps = (result) => {
  const maps = gb.unpack(result.maps);
  const [n, h, w] = maps.shape, cell = 44, gap = 5, labelH = 14, cols = 4;
  const rows = Math.ceil(n / cols), barW = 10;
  const g = gb.context(mapsCanvas, cols * (cell + gap) + barW + 40, rows * (cell + gap + labelH));
  const peak = result.peak > 0 ? result.peak : 1;
  g.font = "11px sans-serif";
  g.textBaseline = "top";
  g.textAlign = "center";
  for (let i = 0; i < n; i++) {
    const x = (i % cols) * (cell + gap), y = Math.floor(i / cols) * (cell + gap + labelH);
    g.fillStyle = ink;
    g.fillText(`ch ${result.channels[i]}`, x + cell / 2, y);
    gb.heatmap(g, maps.subarray(i * h * w, (i + 1) * h * w), h, w,
               {x, y: y + labelH, w: cell, h: cell, lo: -peak, hi: peak, lut});
  }
  gb.colorbar(g, {x: cols * (cell + gap), y: labelH, w: barW, h: rows * (cell + gap + labelH) - labelH - gap,
                  lo: -peak, hi: peak, lut, ink});
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
for (const end of ["pointerup", "pointercancel"]) pad.addEventListener(end, () => { pen = null; });

element.querySelector(".clear").addEventListener("click", () => {
  generation++;
  blank();
  gb.context(bars, 1, 1);
  gb.context(mapsCanvas, 1, 1);
  props.value = null;
  delete pad.dataset.pixels;
  delete pad.dataset.asked;
  status.textContent = "Cleared: draw again.";
});
gb.download(element.querySelector(".download"), pad, "drawing.png");
blank();
