// What a learner would call a label over a picture: every visible piece of text on the page whose box overlaps an
// image, a canvas, a plotly plot area or another piece of text. Left out, as overlays drawn on purpose: text inside
// an element marked data-overlay or matching `onPurpose` (a CSS selector list), and the text a plotly trace draws
// on its own data (a heatmap's cell values, a bar's number). Returns one line per overlap, naming both sides.
(onPurpose) => {
  const MIN = 2;  // px of overlap in each direction before it counts: anti-aliasing and sub-pixel layout are not
                  // overlaps

  function shown(el) {
    return el.checkVisibility({opacityProperty: true, visibilityProperty: true}) && el.getClientRects().length > 0;
  }

  // The part of `r` that its ancestors' overflow clipping leaves visible (a scrolled list, an ellipsis).
  function clipped(el, r) {
    let {left, top, right, bottom} = r;
    for (let a = el.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") {
        const c = a.getBoundingClientRect();
        left = Math.max(left, c.left); top = Math.max(top, c.top);
        right = Math.min(right, c.right); bottom = Math.min(bottom, c.bottom);
      }
    }
    return right - left > MIN && bottom - top > MIN ? {left, top, right, bottom} : null;
  }

  function name(el) {
    const id = el.closest("[id]")?.id;
    return `${el.tagName.toLowerCase()}${id ? ` in #${id}` : ""}`;
  }

  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const words = node.textContent.replace(/\u200b/g, "").trim();  // plotly pads with zero-width spaces
    const el = node.parentElement;
    if (!words || !el || el.closest(`script, style, noscript, option, title, [data-overlay], .cartesianlayer, ${onPurpose}`)
        || !shown(el)) continue;
    // One box per line of a wrapped paragraph; an SVG text's parts (a tick's 10 and its exponent) are one label.
    const svgText = el.closest("text");
    let rects;
    if (svgText) rects = [svgText.getBoundingClientRect()];
    else { const range = document.createRange(); range.selectNodeContents(node); rects = [...range.getClientRects()]; }
    for (const r of rects) {
      const box = r.width > 0 && r.height > 0 ? clipped(el, r) : null;
      if (box) texts.push({box, el, label: svgText || node, words: words.slice(0, 40)});
    }
  }

  const pictures = [];
  for (const el of document.querySelectorAll("img, canvas, video, .plotly .nsewdrag")) {
    if (!shown(el) || el.closest("[data-overlay]")) continue;
    // A plot that draws nothing (a figure that only holds a message) has no picture to cover.
    const figure = el.closest(".js-plotly-plot");
    if (figure && !(figure.data || []).some((t) => ["x", "y", "z", "values"].some((k) => t[k]?.length))) continue;
    const box = clipped(el, el.getBoundingClientRect());
    if (box) pictures.push({box, el});
  }

  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > MIN
    && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > MIN;
  const found = [];
  for (const t of texts) {
    for (const p of pictures) {
      // A plot's own tick labels and titles sit outside its plot area; one inside it is over the picture.
      if (overlap(t.box, p.box)) found.push(`"${t.words}" (${name(t.el)}) over ${name(p.el)}`);
    }
  }
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i], b = texts[j];
      if (a.label === b.label) continue;
      const h = Math.min(a.box.bottom - a.box.top, b.box.bottom - b.box.top);
      const dy = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      // Lines of one paragraph touch; text over text covers a good part of a line's height.
      if (overlap(a.box, b.box) && dy > 0.3 * h) found.push(`"${a.words}" (${name(a.el)}) over "${b.words}" (${name(b.el)})`);
    }
  }
  return found;
}
