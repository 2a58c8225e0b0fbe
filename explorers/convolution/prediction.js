// cnn-prediction: the top classes' probabilities at temperature T as bars, with the T = 1 probabilities as
// outlines (left out at T = 1, where they are the bars themselves), drawn here from the numbers the section sends
// (a plotly chart cost the page a redraw of its own on every new image).
const gb = window.glassbox;
const canvas = element.querySelector("canvas");
// 400 px wide, rows of 20: beside the model's choice, under the layer overview
const ROW = 20, LEFT = 130, RIGHT = 56, TOP = 40, BOTTOM = 42, WIDTH = 400;

const draw = () => {
  const v = props.value;
  if (!v) return;
  const {labels, probabilities: p, probabilities_t1: base, temperature: t} = v;
  const ink = gb.ink(element), same = t === 1, barW = WIDTH - LEFT - RIGHT;
  const g = gb.context(canvas, WIDTH, TOP + ROW * labels.length + BOTTOM);
  g.font = "13px sans-serif";
  g.fillStyle = ink;
  g.textBaseline = "top";
  g.textAlign = "left";
  g.fillText(`Class probabilities: the top ${labels.length} at T = ${gb.number(t, 3)}`, 8, 6);
  if (!same) {  // the legend: the filled bar is T, the outline T = 1
    g.fillStyle = "rgba(37, 99, 235, 0.75)";
    g.fillRect(8, 24, 14, 10);
    g.strokeStyle = "#6b7280";
    g.strokeRect(108, 24, 14, 10);
    g.fillStyle = ink;
    g.fillText(`T = ${gb.number(t, 3)}`, 26, 22);
    g.fillText("T = 1", 126, 22);
  }
  g.textBaseline = "middle";
  labels.forEach((label, i) => {
    const y = TOP + i * ROW;
    g.fillStyle = ink;
    g.textAlign = "right";
    g.fillText(label.length > 18 ? `${label.slice(0, 17)}…` : label, LEFT - 8, y + ROW / 2);
    g.fillStyle = "rgba(37, 99, 235, 0.75)";
    g.fillRect(LEFT, y + 4, Math.max(1, p[i] * barW), ROW - 8);
    if (!same) {
      g.strokeStyle = "#6b7280";
      g.lineWidth = 1.5;
      g.strokeRect(LEFT, y + 4, Math.max(1, base[i] * barW), ROW - 8);
    }
    g.fillStyle = ink;
    g.textAlign = "left";
    g.fillText(p[i].toFixed(3), LEFT + barW + 6, y + ROW / 2);
  });
  gb.axis(g, {x: LEFT, y: TOP + ROW * labels.length + 4, length: barW, lo: 0, hi: 1, label: "probability",
              font: "12px sans-serif", ink});
  canvas.dataset.labels = JSON.stringify(labels);  // what is shown, for tests and readers of the page
  canvas.dataset.probabilities = JSON.stringify(p);
  gb.drawn(element);
};

gb.download(element.querySelector(".download"), canvas, "class-probabilities.png");
watch("value", draw);
draw();
