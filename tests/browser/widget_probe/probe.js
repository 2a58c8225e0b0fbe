// A probe of glassbox.js for tests/browser/test_widgets.py: draws its value's heatmap, and asks the `slow_echo`
// endpoint for every pointer move through gb.latest, keeping every answer it gets.
const gb = window.glassbox;
const canvas = element.querySelector("canvas");
const viridis = gb.unpack(props.colormaps.Viridis);
const draw = () => {
  const grid = gb.unpack(props.value.grid);
  const ctx = gb.context(canvas, 40, 20);
  gb.heatmap(ctx, grid, grid.shape[0], grid.shape[1], {w: 40, h: 20, lo: 0, hi: 1, lut: viridis});
  const pixel = ctx.getImageData(0, 0, 1, 1).data;
  gb.drawn(element, {first: Array.from(pixel.slice(0, 3)), answers});
};
const answers = [];
const ask = gb.latest(async (x) => answers.push(await gb.call("slow_echo", [x])),
                      (e) => { element.querySelector(".error").textContent = e.message; });
window.probeAsk = ask;
watch("value", draw);
draw();
