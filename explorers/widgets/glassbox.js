// glassbox.js: the one shared library of Glassbox's browser-drawn widgets. widgets.widget() puts it before each
// widget's own script in gr.HTML's js_on_load, so it runs once per widget; the first run defines window.glassbox
// and the others reuse it. No build step and no framework: plain functions on canvases.
window.glassbox ??= (() => {
  const gb = {};

  // ------------------------------------------------------------ requests to the app's own gr.api endpoints

  // The app's root URL as gradio computed it for this page (it honours a proxy's headers and a sub-path, and is a
  // Space's own URL on a Space), so widgets work wherever the page is served.
  gb.root = () => (window.gradio_config?.root || location.href.split(/[?#]/)[0]).replace(/\/+$/, "");

  // This page load's id, sent with each call: the server caps what one page has waiting (explorers.fairness), so
  // pages that share an address (a classroom behind one router) do not share one cap.
  const page = crypto.randomUUID?.() ?? Array.from(crypto.getRandomValues(new Uint8Array(16)),
                                                   (b) => b.toString(16).padStart(2, "0")).join("");

  // What a widget says when the server went away under one of its requests (fetch fails, or a stream ends
  // before its result): the page's state lives in that server's memory, so only a reload brings the page back.
  gb.GONE = "The server stopped or restarted: reload the page to go on.";

  // `request` (a fetch, or a read of its body), with a network failure turned into GONE. Only fetch's own
  // TypeError counts: an error of the widget's code, or an abort, stays what it is.
  const reach = (request) => request.catch((e) => { throw e?.name === "TypeError" ? new Error(gb.GONE) : e; });

  // POST a call to `url` (gradio's REST route for `name`); resolves with its event id, or rejects with the server's
  // one-line refusal (a full line of this visitor's requests: HTTP 429) where it sent one.
  gb.post = async (url, name, args) => {
    const posted = await reach(fetch(url, {method: "POST",
                                           headers: {"Content-Type": "application/json", "X-Glassbox-Page": page},
                                           body: JSON.stringify({data: args})}));
    if (!posted.ok) {
      const refusal = await posted.json().catch(() => null);
      throw new Error(typeof refusal?.detail === "string" ? refusal.detail : `${name}: HTTP ${posted.status}`);
    }
    return (await posted.json()).event_id;
  };

  // One call to an endpoint through gradio's queue over its REST route: POST /gradio_api/call/NAME, then read the
  // event stream to its end. Resolves with the endpoint's result; rejects with the message gr.Error carried.
  gb.call = async (name, args) => {
    const url = `${gb.root()}/gradio_api/call/${name}`;
    const event_id = await gb.post(url, name, args);
    const stream = await reach(fetch(`${url}/${event_id}`));
    const text = await reach(stream.text());  // a gr.api endpoint sends one result, so the whole stream is short
    let event = null;
    for (const line of text.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:") && (event === "complete" || event === "error")) {
        const data = JSON.parse(line.slice(5));
        if (event === "complete") return data[0];
        throw new Error(data?.error || (typeof data === "string" ? data : `${name} failed on the server.`));
      }
    }
    throw new Error(gb.GONE);   // gradio ends a stream after its result: one cut short lost its server
  };

  // work(...args) with at most one call running: arguments that arrive meanwhile replace each other, and only the
  // newest is worked on next, so a moving pointer never queues up stale requests. onError gets what work throws.
  gb.latest = (work, onError = console.warn) => {
    let running = false, pending = null;
    const pump = async () => {
      running = true;
      while (pending) {
        const args = pending;
        pending = null;
        try { await work(...args); } catch (e) { onError(e); }
      }
      running = false;
    };
    return (...args) => { pending = args; if (!running) pump(); };
  };

  // ------------------------------------------------------------ data sent by widgets.packed()

  const TYPES = {float32: Float32Array, float64: Float64Array, uint8: Uint8Array, int32: Int32Array};

  // {dtype, shape, data: base64} -> a typed array with its .shape.
  gb.unpack = (packed) => {
    const bytes = Uint8Array.from(atob(packed.data), (c) => c.charCodeAt(0));
    const array = new TYPES[packed.dtype](bytes.buffer);
    array.shape = packed.shape;
    return array;
  };

  // ------------------------------------------------------------ drawing

  // The widget's elem_id, which gradio puts on the component's block (`element` has an id of its own).
  gb.id = (element) => element.closest(".block")?.id || "widget";

  // Marks one redraw with the User Timing API ("<elem_id>:drawn"), so tests and benchmarks can count frames, and
  // keeps `view`, the numbers drawn, on the block (document.querySelector("#<elem_id>").glassboxView) for them.
  gb.drawn = (element, view) => {
    if (view !== undefined) element.closest(".block").glassboxView = view;
    performance.mark(`${gb.id(element)}:drawn`);
  };

  // Sizes a canvas to width x height CSS pixels at the screen's pixel density; returns its 2-D context, scaled so
  // that drawing is in CSS pixels.
  gb.context = (canvas, width, height) => {
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    return ctx;
  };

  // A colour map is the 256 x 3 uint8 table core.render.colormap(name) samples from plotly's scale, sent by
  // widgets.widget(colormaps=...), so the browser's colours are the server's.
  gb.colour = (lut, unit) => {
    const i = 3 * Math.max(0, Math.min(255, Math.round((Number.isFinite(unit) ? unit : 0) * 255)));
    return `rgb(${lut[i]},${lut[i + 1]},${lut[i + 2]})`;
  };

  // rows x cols values into the rectangle (x, y, w, h) of ctx, one square per value (nearest neighbour), through
  // the colour map `lut` from lo (0) to hi (255). A value that is not finite (a masked entry) is drawn `masked`.
  // Returns the ImageData drawn (a value's colour, for text written over it).
  gb.heatmap = (ctx, values, rows, cols, {x = 0, y = 0, w, h, lo, hi, lut, masked = "#d1d5db"}) => {
    const image = new ImageData(cols, rows);
    const [mr, mg, mb] = masked.match(/\w\w/g).map((c) => parseInt(c, 16));
    const span = hi > lo ? hi - lo : 1;
    for (let i = 0; i < rows * cols; i++) {
      const v = values[i], o = 4 * i;
      if (Number.isFinite(v)) {
        const k = 3 * Math.max(0, Math.min(255, Math.round(((v - lo) / span) * 255)));
        image.data[o] = lut[k]; image.data[o + 1] = lut[k + 1]; image.data[o + 2] = lut[k + 2];
      } else {
        image.data[o] = mr; image.data[o + 1] = mg; image.data[o + 2] = mb;
      }
      image.data[o + 3] = 255;
    }
    gb.image(ctx, image, x, y, w, h);
    return image;
  };

  // ImageData drawn into (x, y, w, h) with square pixels (no smoothing), through a scratch canvas.
  const scratch = document.createElement("canvas");
  gb.image = (ctx, image, x, y, w, h) => {
    scratch.width = image.width;
    scratch.height = image.height;
    scratch.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, x, y, w, h);
  };

  // A vertical colour bar at (x, y, w, h) from lo (bottom) to hi (top), with its two end values and a label.
  gb.colorbar = (ctx, {x, y, w, h, lo, hi, lut, label = "", digits = 3, ink = gb.ink(ctx.canvas)}) => {
    for (let i = 0; i < h; i++) {
      ctx.fillStyle = gb.colour(lut, 1 - i / Math.max(1, h - 1));
      ctx.fillRect(x, y + i, w, 1);
    }
    ctx.fillStyle = ink;
    ctx.font = "12px sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillText(gb.number(hi, digits), x + w + 4, y);
    ctx.textBaseline = "bottom";
    ctx.fillText(gb.number(lo, digits), x + w + 4, y + h);
    if (label) {
      ctx.textBaseline = "middle";
      ctx.fillText(label, x + w + 4, y + h / 2);
    }
  };

  // A number as a person reads it: `digits` significant digits, no trailing zeros.
  gb.number = (v, digits = 3) => (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : String(v));

  // Text in the page's own colour: canvas text does not inherit CSS, so read it from the widget's element.
  gb.ink = (element) => getComputedStyle(element).color || "#111827";

  // Saves `href` (a data: or blob: URL) as a file named `filename`, as a link the person clicked would.
  gb.save = (href, filename) => {
    const link = document.createElement("a");
    link.download = filename;
    link.href = href;
    link.click();
  };

  // A button that downloads `canvas` as a PNG named `filename`.
  gb.download = (button, canvas, filename) =>
    button.addEventListener("click", () => gb.save(canvas.toDataURL("image/png"), filename));

  // ------------------------------------------------------------ axes: ticks and labels of a linear or log scale

  // About `count` round values from lo to hi: 1, 2 or 5 times a power of ten apart (so 0, 0.2, … 1, never
  // 0.1666…), the step nearest (hi − lo) / count; on a log scale (log), powers of ten, every k-th decade (a multiple of k) when there are many.
  gb.ticks = (lo, hi, count = 5, log = false) => {
    if (!(hi > lo)) return Number.isFinite(lo) ? [lo] : [];
    const out = [];
    if (log) {
      const a = Math.ceil(Math.log10(lo) - 1e-9), b = Math.floor(Math.log10(hi) + 1e-9);
      const every = Math.max(1, Math.ceil((b - a) / count));
      for (let k = Math.ceil(a / every) * every; k <= b; k += every) out.push(10 ** k);
      return out;
    }
    const raw = (hi - lo) / count, power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power)  // the round step nearest (1.2 → 1, 250 → 200, 0.4 → 0.5)
      .reduce((a, b) => (Math.abs(Math.log(b / raw)) < Math.abs(Math.log(a / raw)) ? b : a));
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
      out.push(Number((k * step).toPrecision(12)) || 0);  // 0.30000000000000004 → 0.3, −0 → 0
    }
    return out;
  };

  // A log tick as a person reads it: 1, 10, 1e-4.
  const decade = (v) => { const k = Math.round(Math.log10(v)); return k === 0 ? "1" : k === 1 ? "10" : `1e${k}`; };

  // One axis of a plot, drawn the same way in every widget. side "bottom" or "top" runs `length` px right from
  // (x, y); "left" or "right" runs `length` px up from (x, y + length), so hi is at the top (lo > hi reverses an
  // axis, e.g. rows counted downwards). A tick and a label (format(v)) at each of `ticks` (gb.ticks(lo, hi, count,
  // log) unless given); a label that would overlap the last one drawn is left out, so labels never collide; `grid`
  // draws lines that long into the plot; `angle` turns the labels (long names on a narrow axis); `label` names the
  // axis beside its tick labels. Returns the scale, value → px along the axis, to draw the data with.
  gb.axis = (ctx, {side = "bottom", x, y, length, lo, hi, log = false, ticks, count = 5, format,
                   label = "", grid = 0, tick = 4, angle = 0, font = "11px sans-serif", ink = gb.ink(ctx.canvas)}) => {
    const f = log ? Math.log10 : (v) => v, span = f(hi) - f(lo) || 1;
    const across = side === "bottom" || side === "top", out = side === "bottom" || side === "right" ? 1 : -1;
    const scale = (v) => (across ? x + ((f(v) - f(lo)) / span) * length : y + length - ((f(v) - f(lo)) / span) * length);
    const show = format || (log ? decade : (v) => gb.number(v));
    const values = ticks || gb.ticks(Math.min(lo, hi), Math.max(lo, hi), count, log);
    const size = parseFloat(font.match(/(\d+(\.\d+)?)px/)?.[1] || "11");
    ctx.save();
    ctx.font = font;
    ctx.lineWidth = 1;
    let end = -Infinity, widest = 0;  // where the last label drawn ends, along the axis; the widest label across it
    for (const v of [...values].sort((a, b) => scale(a) - scale(b))) {
      const p = scale(v), text = show(v);
      ctx.beginPath();  // the grid line into the plot, then the tick outwards
      if (grid) {
        ctx.strokeStyle = "rgba(127,127,127,0.18)";
        if (across) { ctx.moveTo(p, y); ctx.lineTo(p, y - out * grid); } else { ctx.moveTo(x, p); ctx.lineTo(x - out * grid, p); }
        ctx.stroke();
        ctx.beginPath();
      }
      if (tick) {
        ctx.strokeStyle = "#9ca3af";
        if (across) { ctx.moveTo(p, y); ctx.lineTo(p, y + out * tick); } else { ctx.moveTo(x, p); ctx.lineTo(x + out * tick, p); }
        ctx.stroke();
      }
      if (!text) continue;
      const w = ctx.measureText(text).width;
      const along = angle ? size / Math.max(0.3, Math.abs(Math.sin(angle))) : across ? w : size;  // its extent
      if (p - along / 2 < end + (across && !angle ? 4 : 1)) continue;  // a font's height has room above and below
      end = p + along / 2;
      widest = Math.max(widest, angle ? w * Math.abs(Math.sin(angle)) + size : across ? size : w);
      const gap = tick + 3, ax = across ? p : x + out * gap, ay = across ? y + out * gap : p;
      ctx.fillStyle = ink;
      ctx.save();
      ctx.translate(ax, ay);
      if (angle) {
        ctx.rotate(angle);
        ctx.textAlign = out > 0 === across ? "right" : "left";
        ctx.textBaseline = "middle";
      } else {
        ctx.textAlign = across ? "center" : out > 0 ? "left" : "right";
        ctx.textBaseline = across ? (out > 0 ? "top" : "bottom") : "middle";
      }
      ctx.fillText(text, 0, 0);
      ctx.restore();
    }
    if (label) {  // the axis's name, centred on it, beyond the tick labels (turned upright beside a vertical axis)
      const away = tick + 3 + widest + 4, mid = across ? x + length / 2 : y + length / 2;
      ctx.fillStyle = ink;
      ctx.font = font.replace(/(\d+(\.\d+)?)px/, `${size + 1}px`);
      ctx.textAlign = "center";
      ctx.textBaseline = out > 0 ? "top" : "bottom";
      if (across) {
        ctx.fillText(label, mid, y + out * away);
      } else {
        ctx.translate(x + out * away, mid);
        ctx.rotate(-Math.PI / 2);
        ctx.textBaseline = out > 0 ? "top" : "bottom";
        ctx.fillText(label, 0, 0);
      }
    }
    ctx.restore();
    return scale;
  };

  // ------------------------------------------------------------ streams from generator endpoints

  // A generator endpoint's messages as they come, over gb.call's REST route: POST /gradio_api/call/NAME, then the
  // GET's event stream read piece by piece. onMessage(value) runs for each `generating` message and for the final
  // `complete` one (gradio repeats the last value there). Returns {done, abort}: `done` resolves when the stream
  // ends (or is aborted) and rejects with gr.Error's message (gb.GONE when the server went away); abort() closes the stream, and gradio then stops the
  // generator. One request for the whole stream: no request per message.
  gb.stream = (name, args, onMessage) => {
    // An abort before the GET has begun still opens it, then closes it at once: a closed GET is what tells gradio
    // to stop the generator, which would otherwise run on with nobody reading it.
    const control = new AbortController();
    let opened = false, closed = false;
    const read = async () => {
      const url = `${gb.root()}/gradio_api/call/${name}`;
      const event_id = await gb.post(url, name, args);
      const response = await reach(fetch(`${url}/${event_id}`, {signal: control.signal}));
      opened = true;
      if (closed) control.abort();
      const reader = response.body.getReader(), decoder = new TextDecoder();
      let rest = "", event = null, complete = false;
      for (;;) {
        const {value, done} = await reach(reader.read());
        if (done && complete) return;   // read to its end: the server closes the stream after its result
        if (done) throw new Error(gb.GONE);
        const lines = (rest + decoder.decode(value, {stream: true})).split("\n");
        rest = lines.pop();   // a line cut at the chunk's end waits for the rest of it
        for (const line of lines) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          if (!line.startsWith("data:")) continue;
          const data = JSON.parse(line.slice(5));   // a heartbeat's is null
          if (event === "error") {
            throw new Error(data?.error || (typeof data === "string" ? data : `${name} failed on the server.`));
          }
          if (event === "generating" || event === "complete") onMessage(data[0]);
          complete ||= event === "complete";
        }
      }
    };
    const done = read().catch((e) => { if (!closed) throw e; });   // an abort is an end, not an error
    return {done, abort: () => { closed = true; if (opened) control.abort(); }};
  };

  // Gradio's own events (a diffusion run, a GAN play) write their progress into status lines that gradio never
  // clears when its server goes away: "Step 117 of 1000 … running" stayed on screen for ever under gradio's toast.
  // When that toast appears (gradio then retries every 2 s and reloads the page once the server answers), every
  // status line the app marked `gb-status` says GONE instead. Every tab with such a line has a widget, so this
  // library runs before any of them can say "running".
  const LOST = "Connection to the server was lost";   // gradio 6's toast (Blocks.svelte); the restart test reads it
  const toasts = document.getElementsByClassName("toast-body");   // live: empty, and cheap to read, almost always
  new MutationObserver(() => {
    if (!toasts.length || ![...toasts].some((t) => t.textContent.includes(LOST))) return;
    for (const status of document.querySelectorAll(".gb-status")) {
      const text = status.querySelector(".prose") ?? status;
      if (text.textContent === gb.GONE) continue;
      text.textContent = gb.GONE;
      text.classList.add("gb-alarm");
    }
  }).observe(document.body, {childList: true, subtree: true});

  return gb;
})();
