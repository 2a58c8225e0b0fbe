// The VAE tab's latent map (vae-latent-map): the test set's 2-D codes by class, the path A → B and the pinned
// point, drawn from the data latent_map.py sends. The point under the pointer is decoded by the live vae2/ae2
// decoder (the vae_decode_point endpoint, newest position first) and shown beside the map with its z; a click
// pins the point and tells Python (trigger "click"), which updates the z boxes, the decoded point and the grid.
const gb = window.glassbox;
const map = element.querySelector(".vlm-map"), picture = element.querySelector(".vlm-picture");
const title = element.querySelector(".vlm-title"), caption = element.querySelector(".vlm-caption");
const zOut = element.querySelector(".vlm-z"), pinOut = element.querySelector(".vlm-pin");
const legend = element.querySelector(".vlm-legend");
const PICTURE = 140;                                     // 28 pixels, 5 screen pixels each
const PAD = {left: 56, right: 10, top: 8, bottom: 36};   // room for the ticks and the axis names
const DIGITS = 3;                                        // a code is sent and shown to this many decimals
let data = null, side = 0, pinned = null, keyed = null;

// The value's arrays, unpacked once per value.
const load = (v) => ({...v, codes: gb.unpack(v.codes), labels: gb.unpack(v.labels)});

// Plot coordinates: z1 across, z2 up, over the decoded grid's range.
const plot = () => side - PAD.left - PAD.right;
const toX = (z1) => PAD.left + ((z1 - data.z1[0]) / (data.z1[1] - data.z1[0])) * plot();
const toY = (z2) => PAD.top + ((data.z2[1] - z2) / (data.z2[1] - data.z2[0])) * plot();
const round = (v) => Number(v.toFixed(DIGITS));
const toZ = (x, y) => {
  const u = (x - PAD.left) / plot(), w = (y - PAD.top) / plot();
  if (u < 0 || u > 1 || w < 0 || w > 1) return null;     // on the axes, not the map
  return [round(data.z1[0] + u * (data.z1[1] - data.z1[0])), round(data.z2[1] - w * (data.z2[1] - data.z2[0]))];
};

// The two axes over the decoded grid's range, with faint grid lines across the map.
const axes = (ctx, ink) => {
  const p = plot();
  gb.axis(ctx, {side: "bottom", x: PAD.left, y: PAD.top + p, length: p, lo: data.z1[0], hi: data.z1[1], grid: p,
                label: "z1", ink});
  gb.axis(ctx, {side: "left", x: PAD.left, y: PAD.top, length: p, lo: data.z2[0], hi: data.z2[1], grid: p,
                label: "z2", ink});
  ctx.strokeStyle = "rgba(127,127,127,0.6)";
  ctx.lineWidth = 1;
  ctx.strokeRect(PAD.left, PAD.top, p, p);
};

// A label with a halo in the page's background, readable over the points.
const label = (ctx, text, x, y, ink) => {
  ctx.font = "bold 14px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.lineWidth = 3;
  ctx.strokeStyle = getComputedStyle(document.body).backgroundColor || "white";
  ctx.strokeText(text, x, y - 6);
  ctx.fillStyle = ink;
  ctx.fillText(text, x, y - 6);
};

const ring = (ctx, [z1, z2], colour) => {
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2.5;
  ctx.beginPath(); ctx.arc(toX(z1), toY(z2), 8, 0, 2 * Math.PI); ctx.stroke();
};

const drawMap = () => {
  if (!data) return;
  // square, beside the 150-pixel panel where there is room, else the full width with the panel wrapped below
  const width = element.clientWidth, beside = width - 170;
  side = Math.max(240, Math.min(480, beside >= 240 ? beside : width));
  const ink = gb.ink(element), ctx = gb.context(map, side, PAD.top + plot() + PAD.bottom);
  axes(ctx, ink);
  ctx.save();
  ctx.beginPath(); ctx.rect(PAD.left, PAD.top, plot(), plot()); ctx.clip();  // codes beyond the range are cut
  ctx.globalAlpha = 0.6;
  for (let i = 0; i < data.labels.length; i++) {
    ctx.fillStyle = data.colours[data.labels[i]];
    ctx.fillRect(toX(data.codes[2 * i]) - 1.5, toY(data.codes[2 * i + 1]) - 1.5, 3, 3);
  }
  ctx.globalAlpha = 1;
  ctx.strokeStyle = ctx.fillStyle = ink;
  ctx.lineWidth = 2;
  ctx.beginPath();
  data.path.forEach(([a, b], i) => (i ? ctx.lineTo(toX(a), toY(b)) : ctx.moveTo(toX(a), toY(b))));
  ctx.stroke();
  for (const [a, b] of data.path) { ctx.beginPath(); ctx.arc(toX(a), toY(b), 3, 0, 2 * Math.PI); ctx.fill(); }
  label(ctx, "A", toX(data.path[0][0]), toY(data.path[0][1]), ink);
  label(ctx, "B", toX(data.path.at(-1)[0]), toY(data.path.at(-1)[1]), ink);
  if (keyed) ring(ctx, keyed, ink);
  if (pinned) ring(ctx, pinned, "#dc2626");
  ctx.restore();
  gb.drawn(element);
};

const drawLegend = () => {
  legend.replaceChildren(...data.classes.map((name, c) => {
    const item = document.createElement("span"), dot = document.createElement("i");
    dot.style.background = data.colours[c];
    item.append(dot, name);
    return item;
  }));
  for (const [kind, text] of [["vlm-path", "path A → B"], ["vlm-ring", "pinned point"]]) {
    const item = document.createElement("span"), mark = document.createElement("i");
    mark.className = kind;
    item.append(mark, text);
    legend.append(item);
  }
};

// The decoded picture (28 x 28 grey levels) and its z beside the map.
const drawPicture = (pixels, z, isPinned) => {
  const image = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) image.data.set([pixels[i], pixels[i], pixels[i], 255], 4 * i);
  gb.image(gb.context(picture, PICTURE, PICTURE), image, 0, 0, PICTURE, PICTURE);
  caption.textContent = isPinned ? "Decoded at the pinned point" : "Decoded under the pointer";
  zOut.textContent = `z = (${z[0].toFixed(DIGITS)}, ${z[1].toFixed(DIGITS)})`;
  zOut.dataset.z = JSON.stringify(z);
  zOut.dataset.model = data.model;
  gb.drawn(element);
};

const showPin = () => {
  pinOut.textContent = pinned ? `Pinned: z = (${pinned[0].toFixed(DIGITS)}, ${pinned[1].toFixed(DIGITS)})`
                              : "Click the map to pin a point.";
};

// One request at a time; the newest position wins while the pointer moves.
const ask = gb.latest(async (z, isPinned) => {
  const r = await gb.call("vae_decode_point", [z[0], z[1], data.model]);
  drawPicture(gb.unpack(r.picture), r.z, isPinned);
}, (e) => { zOut.textContent = e.message; });

const pin = (z) => {
  pinned = z;
  showPin();
  drawMap();
  ask(z, true);
  trigger("click", {z});
};

map.addEventListener("pointermove", (e) => {
  const z = data && toZ(e.offsetX, e.offsetY);
  if (z) ask(z, false);
});
map.addEventListener("pointerleave", () => { if (pinned) ask(pinned, true); });
map.addEventListener("click", (e) => {
  const z = data && toZ(e.offsetX, e.offsetY);
  if (z) pin(z);
});
// The keyboard: the arrows move a ring a 40th of the range at a time and decode under it; Enter pins it.
map.addEventListener("keydown", (e) => {
  if (!data) return;
  const steps = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]}[e.key];
  if (steps) {
    const from = keyed || pinned || [0, 0];
    const clamp = (v, [lo, hi]) => round(Math.max(lo, Math.min(hi, v)));
    keyed = [clamp(from[0] + steps[0] * (data.z1[1] - data.z1[0]) / 40, data.z1),
             clamp(from[1] + steps[1] * (data.z2[1] - data.z2[0]) / 40, data.z2)];
    drawMap();
    ask(keyed, false);
  } else if (e.key === "Enter" && keyed) {
    pin(keyed);
  } else {
    return;
  }
  e.preventDefault();
});

gb.download(element.querySelector(".vlm-download"), picture, "vae-decoded-point.png");

// A new value from Python: a new path, model or pinned point. The picture is decoded again only when the model or
// the pin changed, so a new path costs no request.
const update = () => {
  const v = props.value;
  if (!v || !v.codes) return;
  const before = data;
  data = load(v);
  title.textContent = v.title;
  pinned = v.pinned;
  drawLegend();
  showPin();
  drawMap();
  const samePin = before && JSON.stringify(before.pinned) === JSON.stringify(v.pinned);
  if (!before || before.model !== v.model || !samePin) ask(pinned || [0, 0], Boolean(pinned));
};
watch("value", update);
update();
new ResizeObserver(() => drawMap()).observe(element);
