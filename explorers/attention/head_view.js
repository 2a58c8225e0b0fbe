// The head view (#attn-head-view), after BertViz's: the tokens twice, attending (queries) on the left and attended
// (keys) on the right, one line per (head, query, key) that core.attention.figures.head_view kept, its opacity the
// weight, one colour per head. Python sends the tokens and the lines' numbers (packed); this draws the SVG on load
// and on each new value, so the template stays static. Pointing at a token shows only its lines (left: what it
// attends to; right: what attends to it).
const gb = window.glassbox;
const legend = element.querySelector(".hv-legend"), plot = element.querySelector(".hv-plot");
const download = element.querySelector(".hv-download");
const ROW = 20, TOKEN_WIDTH = 130, LINES_WIDTH = 260;  // px: a token's row, a token column, between the columns

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The whole SVG as one string: a single innerHTML is far faster than thousands of createElementNS calls.
const svg = (v) => {
  const lines = gb.unpack(v.lines), weights = gb.unpack(v.weights), n = v.tokens.length, top = 8;
  const colour = Object.fromEntries(v.heads.map((h, i) => [h, v.colours[i]]));
  const xl = TOKEN_WIDTH, xr = TOKEN_WIDTH + LINES_WIDTH, y = (i) => top + (i + 0.5) * ROW;
  const parts = [];
  for (let i = 0; i < weights.length; i++) {
    const h = lines[3 * i], q = lines[3 * i + 1], k = lines[3 * i + 2];
    parts.push(`<line class="hv-edge" data-h="${h}" data-q="${q}" data-k="${k}" x1="${xl}" y1="${y(q)}" x2="${xr}" `
               + `y2="${y(k)}" stroke="${colour[h]}" stroke-opacity="${weights[i].toFixed(4)}"/>`);
  }
  const column = (side, x, anchor) => v.tokens.map((t, i) =>
    `<text class="hv-token" data-side="${side}" data-i="${i}" x="${x}" y="${y(i)}" text-anchor="${anchor}" `
    + `dominant-baseline="middle"><title>${i}: ${escape(t)}</title>${escape(t)}</text>`).join("");
  return `<svg class="hv" xmlns="http://www.w3.org/2000/svg" width="${2 * TOKEN_WIDTH + LINES_WIDTH}" `
    + `height="${top + n * ROW}" font-size="13"><g class="hv-lines" stroke-width="2">${parts.join("")}</g>`
    + `${column("q", xl - 8, "end")}${column("k", xr + 8, "start")}</svg>`;
};

const draw = () => {
  const v = props.value;
  const ready = Boolean(v?.lines);  // no value, or no head ticked: nothing to draw (the note says why)
  legend.replaceChildren(...(ready ? v.heads.map((h, i) => {
    const tag = document.createElement("span");
    tag.className = "hv-head";
    tag.style.background = v.colours[i];
    tag.textContent = `head ${h}`;
    return tag;
  }) : []));
  plot.innerHTML = ready ? svg(v) : "";
  download.hidden = !ready;
  gb.drawn(element);
};

// Only the lines of `token` (a text.hv-token), or every line when null.
const show = (token) => {
  const side = token ? token.dataset.side : null, i = token ? token.dataset.i : null;
  for (const line of plot.querySelectorAll("line.hv-edge"))
    line.style.visibility = !token || line.dataset[side] === i ? "" : "hidden";
  for (const t of plot.querySelectorAll("text.hv-token")) t.classList.toggle("hv-focus", t === token);
};

// Delegated from the plot, so the listeners survive every redraw.
plot.addEventListener("mouseover", (e) => { const t = e.target.closest("text.hv-token"); if (t) show(t); });
plot.addEventListener("mouseout", (e) => {
  const t = e.target.closest("text.hv-token");
  if (t && !t.contains(e.relatedTarget)) show(null);
});

// The picture as an SVG file, with every line (not only a hovered token's).
download.addEventListener("click", () => {
  const copy = plot.querySelector("svg.hv")?.cloneNode(true);
  if (!copy) return;
  for (const line of copy.querySelectorAll("line.hv-edge")) line.style.visibility = "";
  const href = URL.createObjectURL(new Blob([copy.outerHTML], {type: "image/svg+xml"}));
  gb.save(href, `${gb.id(element)}.svg`);
  setTimeout(() => URL.revokeObjectURL(href), 1000);  // once the download has read it
});

watch("value", draw);
draw();
