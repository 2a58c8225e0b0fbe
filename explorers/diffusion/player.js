// player.js: the Diffusion tab's reverse-process player. When a run ends, Python sends every recorded step's
// x_t, ε̂ and x̂₀ once (uint8 levels, [steps, 3, C, H, W], reverse.player_value); Play, the loop switch and the
// step range then show any step here, with no request to the server. Steps are numbered 1 … N as the run counts
// its network calls.
const gb = window.glassbox;
const root = element.querySelector(".drp");
const canvas = element.querySelector(".drp-frames");
const captions = element.querySelector(".drp-captions");
const play = element.querySelector(".drp-play");
const loop = element.querySelector(".drp-loop");
const range = element.querySelector("#diff-scrub");
const label = element.querySelector(".drp-step");
const x0Note = element.querySelector(".drp-x0-note");
const download = element.querySelector(".drp-download");

const FPS = 20;          // frames a second while playing
const PLAY_FRAMES = 120;   // a long run (DDPM-1000) skips steps so that one play lasts about 6 s
const GAP = 18;          // px between the three pictures
let run = null;          // the value's arrays, unpacked once
let shown = 0;           // the recorded step shown (0 … n − 1)
let playing = false, last = 0;

// Recorded step i's three pictures side by side, each run.cell px wide with square pixels.
function draw(i) {
  shown = i;
  const [n, , C, H, W] = run.frames.shape, size = C * H * W, cell = run.cell, h = Math.round((cell * H) / W);
  const ctx = gb.context(canvas, 3 * cell + 2 * GAP, h);
  for (let p = 0; p < 3; p++) {
    const image = new ImageData(W, H), offset = (3 * i + p) * size;
    for (let k = 0; k < H * W; k++) {
      for (let c = 0; c < 3; c++) image.data[4 * k + c] = run.frames[offset + (C === 1 ? 0 : c) * H * W + k];
      image.data[4 * k + 3] = 255;
    }
    gb.image(ctx, image, p * (cell + GAP), 0, cell, h);
  }
  range.value = String(i);
  const text = `Step ${run.steps[i]} of ${run.total} (diffusers timestep t = ${run.timesteps[i]})`;
  label.textContent = `${text}${i === n - 1 && run.done ? ", the last step" : ""}`;
  range.setAttribute("aria-valuetext", text);
  canvas.dataset.step = String(run.steps[i]);   // which step is drawn, for tests
  gb.drawn(element);
}

function setPlaying(on) {
  playing = on;
  play.textContent = on ? "❚❚ Pause" : "▶ Play";
  play.setAttribute("aria-pressed", String(on));
  if (on) { last = performance.now(); requestAnimationFrame(tick); }
}

// Driven by animation frames, so a hidden page does not play on; one step every 1 / FPS s.
function tick(now) {
  if (!playing || !run) return;
  const period = 1000 / FPS;
  if (now - last >= period) {
    last = Math.max(last + period, now - period);   // on the clock: a late frame does not slow the next ones
    const n = run.steps.length, stride = Math.max(1, Math.ceil(n / PLAY_FRAMES));
    if (shown === n - 1) {
      if (!loop.checked) { setPlaying(false); return; }
      draw(0);
    } else {
      draw(Math.min(n - 1, shown + stride));
    }
  }
  requestAnimationFrame(tick);
}

play.addEventListener("click", () => {
  if (!run) return;
  if (!playing && shown === run.steps.length - 1) draw(0);   // Play at the end starts again
  setPlaying(!playing);
});
range.addEventListener("input", () => { if (run) { setPlaying(false); draw(Number(range.value)); } });
gb.download(download, canvas, "diffusion-step.png");

// A new run (or none: a run has started, and the live view shows it until it ends).
function load() {
  const v = props.value;
  setPlaying(false);
  root.hidden = !(v && v.frames);
  if (root.hidden) { run = null; return; }
  run = {frames: gb.unpack(v.frames), steps: gb.unpack(v.steps), timesteps: gb.unpack(v.timesteps),
         total: v.total, cell: v.cell, done: v.done};
  captions.style.gridTemplateColumns = "repeat(3, minmax(0, 1fr))";
  captions.style.width = `${3 * v.cell + 2 * GAP}px`;   // the pictures' width, so each caption is under its own
  captions.style.columnGap = `${GAP}px`;
  x0Note.textContent = v.x0_note;
  range.max = String(run.steps.length - 1);
  draw(run.steps.length - 1);
}

watch("value", load);
load();
