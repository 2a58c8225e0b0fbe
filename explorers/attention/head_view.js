// The head view (#attn-head-view): the SVG core.attention.figures.head_view draws, one line per (head, query,
// key). Delegated from the widget, so it survives every new value: pointing at a token shows only its lines (left:
// what it attends to; right: what attends to it).
const gb = window.glassbox;
const show = (token) => {
  const svg = element.querySelector('svg.hv');
  if (!svg) return;
  const side = token ? token.dataset.side : null, i = token ? token.dataset.i : null;
  for (const line of svg.querySelectorAll('line.hv-edge'))
    line.style.visibility = !token || line.dataset[side] === i ? '' : 'hidden';
  for (const t of svg.querySelectorAll('text.hv-token')) t.classList.toggle('hv-focus', t === token);
};
watch("value", () => gb.drawn(element));
element.addEventListener('mouseover', (e) => { const t = e.target.closest('text.hv-token'); if (t) show(t); });
element.addEventListener('mouseout', (e) => {
  const t = e.target.closest('text.hv-token');
  if (t && !t.contains(e.relatedTarget)) show(null);
});
