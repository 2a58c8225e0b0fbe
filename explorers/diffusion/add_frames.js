// gr.Plot hands plotly.js the figure's data and layout only (Plotly.react without frames), so the animation's
// frames travel in layout.meta and this hook, run after each new figure, gives them to plotly.js: the browser then
// plays the animation with no round trip. It waits (up to 5 s) for the new figure's frames to be drawn.
() => {
  const attach = (tries) => {
    const gd = document.querySelector('#dtoy-particles-plot .js-plotly-plot');
    const frames = gd?.layout?.meta?.frames;
    if (gd && frames && gd.glassboxFrames !== frames && window.Plotly) {
      gd.glassboxFrames = frames;
      window.Plotly.deleteFrames(gd).then(() => window.Plotly.addFrames(gd, frames));
    } else if (tries > 0) setTimeout(() => attach(tries - 1), 100);
  };
  attach(50);
}
