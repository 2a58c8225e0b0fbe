// player.js: the Diffusion tab's reverse-process player. When a run ends, Python sends every recorded step's
// x_t, ε̂ and x̂₀ once (uint8 levels, [steps, 3, C, H, W], reverse.player_value), which the player plays through
// once by itself; Play, the loop switch and the step range then show any step here, with no request to the server.
// Step k of N is the run's k-th denoising step (1 … N, its network calls): its x_t is the sample it starts from,
// its ε̂ and x̂₀ what it predicts. The range's value is that step number k, as the status line and the verdict
// count it.
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

// Recorded step i's three pictures side by side, each run.cell px wide with square pixels. The range is moved to
// its step number unless the range itself asked for it (`asked`: the number set there, which a thinned run may
// not have recorded; the range keeps it, so the keyboard's steps of 1 go on past it).
function draw(i, asked = null) {
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
  if (asked === null) range.value = String(run.steps[i]);
  const of = `${run.total}${run.calls ? " network calls" : ""}`;   // as reverse.step_of says it
  const text = `Step ${run.steps[i]} of ${of} (diffusers timestep t = ${run.timesteps[i]})`;
  const kept = asked !== null && asked !== run.steps[i]
    ? ` (the recorded step nearest ${asked}: this run kept one step in ${run.every})` : "";
  label.textContent = `${text}${i === n - 1 && run.done ? ", the last step" : ""}${kept}`;
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
// The recorded step nearest step number k (the earlier one of two as near).
function nearest(k) {
  let best = 0;
  for (let i = 1; i < run.steps.length; i++) if (Math.abs(run.steps[i] - k) < Math.abs(run.steps[best] - k)) best = i;
  return best;
}

range.addEventListener("input", () => {
  if (!run) return;
  setPlaying(false);
  const k = Number(range.value);
  draw(nearest(k), k);
});
gb.download(download, canvas, "diffusion-step.png");

// A new run (or none: a run has started, and the live view shows it until it ends).
function load() {
  const v = props.value;
  setPlaying(false);
  root.hidden = !(v && v.frames);
  if (root.hidden) { run = null; return; }
  run = {frames: gb.unpack(v.frames), steps: gb.unpack(v.steps), timesteps: gb.unpack(v.timesteps),
         total: v.total, cell: v.cell, done: v.done, every: v.every,
         calls: v.calls};
  captions.style.gridTemplateColumns = "repeat(3, minmax(0, 1fr))";
  captions.style.width = `${3 * v.cell + 2 * GAP}px`;   // the pictures' width, so each caption is under its own
  captions.style.columnGap = `${GAP}px`;
  x0Note.textContent = v.x0_note;
  range.min = String(run.steps[0]);
  range.max = String(run.steps[run.steps.length - 1]);
  // A run that has just ended replays once by itself, from its first step to its last (where it then stays), so
  // the denoising is seen again whole; a visitor who asked for reduced motion gets the last step at once.
  if (matchMedia("(prefers-reduced-motion: reduce)").matches) { draw(run.steps.length - 1); return; }
  draw(0);
  setPlaying(true);
}

watch("value", load);
load();
