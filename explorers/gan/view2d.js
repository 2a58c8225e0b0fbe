// The GAN tab's 2-D view (explorers/gan/points.py sends core.gan.figures.toy_arrays, packed, with the run's count,
// status line and latest losses): D's heatmap over the box, G's image of a noise grid (the manifold), G's gradient
// arrows and the real and fake points, with ticks, a colour bar and a legend, drawn on a canvas for every frame, so
// the view keeps its size, fonts and hover whether the run plays or not. While a run plays, the value from the play
// event carries the run's token and the view reads the run's frames itself from the gan_2d_frames endpoint: one
// request per play, a stream of at most 16 frames a second (so training keeps the CPU), of which the view draws the
// newest at the browser's next paint; a gradio event's stream could not carry that many to this page. The count and
// status above the picture and the losses' trail below it are the view's own, as the page's other components are
// written only when the run stops.
// The pointer reads D under it from the heatmap's grid, between grid values as the picture's colours are.
const gb = window.glassbox;
const canvas = element.querySelector(".gan-view-plane"), out = element.querySelector("output");
const trailCanvas = element.querySelector(".gan-view-trail");
const count = element.querySelector(".gan-view-count"), status = element.querySelector(".gan-view-status");
const lut = gb.unpack(props.lut), colours = props.colours;
const cells = document.createElement("canvas");   // the heatmap at one pixel per grid value, stretched onto the box
const LEFT = 44, TOP = 30, BOTTOM = 28, BAR = 12, BAR_GAP = 16, BAR_TEXT = 56, MAX_SIDE = 460, RADIUS = 2.5;
const FONT = "13px sans-serif", OUTLINE = "#d1d5db";
const TRAIL = 300, TRAIL_HEIGHT = 64;   // the trail keeps the last 300 frames' losses (15-20 s of play)
const HINT = out.textContent;
let view = null, pointer = null, box = null;   // the unpacked arrays; the pointer in CSS px; the box's geometry
let trail = [];                                 // [iteration, D loss, G loss] of the frames seen, oldest first
let stream = null, newest = null;              // the playing run's stream (gb.stream); its frame not yet drawn

// The value's arrays unpacked once per picture (a resize redraws from them).
const unpacked = (v) => {
  const arrays = {};
  for (const key of ["heat", "real", "fake", "arrows", "manifold"]) arrays[key] = gb.unpack(v[key]);
  return {...v, ...arrays, shown: new Set(v.layers)};
};

// Data coordinates to canvas CSS pixels (y up in the data, down on the canvas).
const px = (x) => box.left + ((x + view.box) / (2 * view.box)) * box.side;
const py = (y) => box.top + ((view.box - y) / (2 * view.box)) * box.side;

// D's output at (x, y), bilinear between the grid's values (grid points from -box to box; rows are y).
const dAt = (x, y) => {
  const heat = view.heat, n = heat.shape[0];
  const cell = (t) => {
    const f = Math.min(Math.max(((t + view.box) / (2 * view.box)) * (n - 1), 0), n - 1);
    const i = Math.min(Math.floor(f), n - 2);
    return [i, f - i];
  };
  const [j, tx] = cell(x), [i, ty] = cell(y);
  const at = (r, c) => heat[r * n + c];
  const bottom = at(i, j) * (1 - tx) + at(i, j + 1) * tx, top = at(i + 1, j) * (1 - tx) + at(i + 1, j + 1) * tx;
  return bottom * (1 - ty) + top * ty;
};

const drawHeat = (ctx) => {
  const n = view.heat.shape[0];
  cells.width = cells.height = n;
  gb.heatmap(cells.getContext("2d"), view.heat, n, n, {w: n, h: n, lo: view.lo, hi: view.hi, lut});
  // the grid's values sit at the cell centres; the first and last centres are the box's edges (as plotly draws
  // a heatmap on those coordinates), and row 0 (y = -box) is the bottom
  ctx.save();
  ctx.translate(box.left, box.top + box.side);
  ctx.scale(1, -1);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(cells, 0.5, 0.5, n - 1, n - 1, 0, 0, box.side, box.side);
  ctx.restore();
};

// Lines through consecutive finite points of a [lines, points, 2] array.
const drawManifold = (ctx) => {
  const [lines, points] = view.manifold.shape, m = view.manifold;
  ctx.beginPath();
  for (let l = 0; l < lines; l++) {
    let pen = false;
    for (let p = 0; p < points; p++) {
      const o = 2 * (l * points + p), x = m[o], y = m[o + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) { pen = false; continue; }
      if (pen) ctx.lineTo(px(x), py(y)); else ctx.moveTo(px(x), py(y));
      pen = true;
    }
  }
  ctx.stroke();
};

// One arrow per fake point along its step: the shaft, then two barbs a third of its length at 25 degrees.
const drawArrows = (ctx) => {
  const f = view.fake, s = view.arrows, cos = Math.cos(Math.PI * 25 / 180), sin = Math.sin(Math.PI * 25 / 180);
  ctx.beginPath();
  for (let i = 0; i < s.length; i += 2) {
    const x0 = f[i], y0 = f[i + 1], x1 = x0 + s[i], y1 = y0 + s[i + 1], bx = -s[i] / 3, by = -s[i + 1] / 3;
    ctx.moveTo(px(x0), py(y0));
    ctx.lineTo(px(x1), py(y1));
    ctx.moveTo(px(x1 + cos * bx - sin * by), py(y1 + sin * bx + cos * by));
    ctx.lineTo(px(x1), py(y1));
    ctx.lineTo(px(x1 + cos * bx + sin * by), py(y1 - sin * bx + cos * by));
  }
  ctx.stroke();
};

const drawPoints = (ctx, points, colour) => {
  ctx.fillStyle = colour;
  ctx.beginPath();
  for (let i = 0; i < points.length; i += 2) {
    const x = px(points[i]), y = py(points[i + 1]);
    ctx.moveTo(x + RADIUS, y);
    ctx.arc(x, y, RADIUS, 0, 2 * Math.PI);
  }
  ctx.fill();
};

// The box's outline, ticks every 0.5 with their labels (a true minus sign), and the legend of the layers shown.
const drawFrame = (ctx, ink) => {
  ctx.strokeStyle = OUTLINE;
  ctx.lineWidth = 1;
  ctx.strokeRect(box.left - 0.5, box.top - 0.5, box.side + 1, box.side + 1);
  ctx.fillStyle = ink;
  ctx.font = FONT;
  for (let t = -Math.floor(view.box * 2) / 2; t <= view.box + 1e-9; t += 0.5) {
    const label = gb.number(t, 3).replace("-", "\u2212");
    ctx.fillRect(px(t), box.top + box.side, 1, 4);
    ctx.fillRect(box.left - 5, py(t), 4, 1);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    ctx.fillText(label, px(t), box.top + box.side + 6);
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText(label, box.left - 8, py(t));
  }
  const entries = [["real", "real", colours.real], ["fake", "fake", colours.fake],
                   ["arrows", "G's step", colours.lines], ["manifold", "manifold", colours.lines]];
  let x = box.left;
  ctx.textAlign = "left"; ctx.textBaseline = "middle";
  for (const [layer, name, colour] of entries.filter(([layer]) => view.shown.has(layer))) {
    ctx.fillStyle = ctx.strokeStyle = colour;
    if (layer === "real" || layer === "fake") {
      ctx.beginPath(); ctx.arc(x + 5, TOP / 2, 4, 0, 2 * Math.PI); ctx.fill();
    } else {
      ctx.beginPath(); ctx.moveTo(x, TOP / 2); ctx.lineTo(x + 12, TOP / 2); ctx.stroke();
    }
    ctx.fillStyle = ink;
    ctx.fillText(name, x + 16, TOP / 2);
    x += 16 + ctx.measureText(name).width + 14;
  }
};

// The readout under the picture: D at the pointer (its exact numbers also in data-x, data-y, data-d for tests).
const readout = () => {
  if (!view || !pointer || !box) return;
  const x = ((pointer[0] - box.left) / box.side) * 2 * view.box - view.box;
  const y = view.box - ((pointer[1] - box.top) / box.side) * 2 * view.box;
  if (Math.abs(x) > view.box || Math.abs(y) > view.box) { out.textContent = HINT; return; }
  const d = dAt(x, y);
  Object.assign(out.dataset, {x, y, d});
  const sign = (v) => v.toFixed(2).replace("-", "\u2212");
  out.textContent = `${view.label} = ${d.toFixed(3)} at (${sign(x)}, ${sign(y)})`;
};

// The latest losses join the trail once per iteration; an earlier iteration than the last is a new run's, which
// starts a new trail.
const remember = (v) => {
  const last = trail[trail.length - 1], d = v.latest?.d_loss, g = v.latest?.g_loss;
  if (last && v.step < last[0]) trail = [];
  if (!Number.isFinite(d) || !Number.isFinite(g) || (last && v.step <= last[0] && trail.length)) return;
  trail.push([v.step, d, g]);
  if (trail.length > TRAIL) trail.shift();
};

// The trail under the picture, as wide as the box: both losses on one scale (their range over the trail), the
// latest losses and mean D(real) and D(fake) written above it.
const drawTrail = (ink) => {
  const ctx = gb.context(trailCanvas, box.width, TRAIL_HEIGHT), top = 18, h = TRAIL_HEIGHT - top - 4;
  const l = view.latest || {}, p = (v) => (Number.isFinite(v) ? v.toFixed(3) : "–");
  ctx.font = "12px sans-serif"; ctx.textBaseline = "middle"; ctx.textAlign = "left";
  let x = LEFT;
  for (const [text, colour] of [[`D loss ${p(l.d_loss)}`, colours.d_loss], [`G loss ${p(l.g_loss)}`, colours.g_loss],
                                [`D(real) ${p(l.d_real)}`, colours.real], [`D(fake) ${p(l.d_fake)}`, colours.fake]]) {
    ctx.fillStyle = colour;
    ctx.fillText(text, x, top / 2);
    x += ctx.measureText(text).width + 14;
  }
  ctx.strokeStyle = OUTLINE; ctx.lineWidth = 1;
  ctx.strokeRect(LEFT - 0.5, top - 0.5, box.side + 1, h + 1);
  trailCanvas.dataset.points = trail.length;   // for tests: how many pictures' losses the trail draws
  if (trail.length < 2) {
    ctx.fillStyle = ink;
    ctx.fillText("The losses' trail is drawn here while the run plays.", LEFT + 8, top + h / 2);
    return;
  }
  const values = trail.flatMap(([, d, g]) => [d, g]);
  const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
  ctx.fillStyle = ink; ctx.textAlign = "right";
  ctx.fillText(gb.number(hi, 3), LEFT - 4, top + 5);
  ctx.fillText(gb.number(lo, 3), LEFT - 4, top + h - 5);
  for (const [k, colour] of [[1, colours.d_loss], [2, colours.g_loss]]) {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    trail.forEach((row, i) => {
      const tx = LEFT + (i / (TRAIL - 1)) * box.side, ty = top + h - ((row[k] - lo) / span) * h;
      if (i) ctx.lineTo(tx, ty); else ctx.moveTo(tx, ty);
    });
    ctx.stroke();
  }
};

const draw = () => {
  const width = element.clientWidth;
  if (!view || !width) return;   // not shown yet (another tab): the resize observer draws it when it is
  const side = Math.max(120, Math.min(MAX_SIDE, width - LEFT - BAR_GAP - BAR - BAR_TEXT));
  box = {left: LEFT, top: TOP, side, width: LEFT + side + BAR_GAP + BAR + BAR_TEXT};
  const ctx = gb.context(canvas, box.width, TOP + side + BOTTOM);
  const ink = gb.ink(element);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(box.left, box.top, side, side);
  ctx.save();
  ctx.beginPath(); ctx.rect(box.left, box.top, side, side); ctx.clip();   // points that flew away stay out
  if (view.shown.has("heatmap")) drawHeat(ctx);
  ctx.strokeStyle = colours.lines;
  ctx.lineWidth = 1;
  if (view.shown.has("manifold")) drawManifold(ctx);
  if (view.shown.has("arrows")) drawArrows(ctx);
  if (view.shown.has("real")) drawPoints(ctx, view.real, colours.real);
  if (view.shown.has("fake")) drawPoints(ctx, view.fake, colours.fake);
  ctx.restore();
  drawFrame(ctx, ink);
  if (view.shown.has("heatmap")) {
    gb.colorbar(ctx, {x: LEFT + side + BAR_GAP, y: TOP, w: BAR, h: side, lo: view.lo, hi: view.hi, lut,
                      label: view.label, ink});
  }
  drawTrail(ink);
  readout();
  gb.drawn(element);
};

// A new value: its count and status at once, its arrays drawn, its losses added to the trail.
const show = (v) => {
  view = v ? unpacked(v) : null;
  if (!v) return;
  // Text only where it changed: a change makes the browser lay the page out again (the status is the same all play).
  if (count.textContent !== (v.counter ?? "")) count.textContent = v.counter ?? "";
  if (status.textContent !== (v.status ?? "")) status.textContent = v.status ?? "";
  status.classList.toggle("gb-alarm", Boolean(v.alarm));
  remember(v);
  draw();
};

// While the value names a playing run, its frames from one stream: each replaces the one before if that is not
// drawn yet, and the newest is drawn at the next paint, so a slow page never queues frames. The stream ends after
// the run's last frame (pause, or the run stopped); a new value or leaving the page closes it (the server then
// stops sending, and a run nobody reads stops); the server's one-line refusal of a token, or gb.GONE when the
// server went away mid-play (it stopped or restarted), shows in the status line in place of "Training…".
const paint = () => {
  const frame = newest;
  newest = null;
  if (frame) show(frame);
};
const read = (token) => {
  const current = gb.stream("gan_2d_frames", [token], (frame) => {
    if (stream !== current) return;   // a closed stream's late frame
    if (!newest) requestAnimationFrame(paint);
    newest = frame;
  });
  current.done.catch((e) => {
    if (stream === current) { status.textContent = e.message; status.classList.add("gb-alarm"); }
  });
  return current;
};

// A value from a Python event (play, pause, step, reset, new data...): drawn, and its token (if any) followed.
const follow = (v) => {
  stream?.abort();
  stream = newest = null;
  show(v);
  if (v?.token) stream = read(v.token);
};

watch("value", () => follow(props.value));
canvas.addEventListener("pointermove", (e) => { pointer = [e.offsetX, e.offsetY]; readout(); });
canvas.addEventListener("pointerleave", () => { pointer = null; out.textContent = HINT; });
gb.download(element.querySelector("button"), canvas, "gan-2d-view.png");
let width = 0;
new ResizeObserver(() => { if (element.clientWidth !== width) { width = element.clientWidth; draw(); } })
  .observe(element);
addEventListener("pagehide", () => stream?.abort());
follow(props.value);
