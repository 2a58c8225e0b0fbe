// glassbox.js: the one shared library of Glassbox's browser-drawn widgets. widgets.widget() puts it before each
// widget's own script in gr.HTML's js_on_load, so it runs once per widget; the first run defines window.glassbox
// and the others reuse it. No build step and no framework: plain functions on canvases.
window.glassbox ??= (() => {
  const gb = {};

  // ------------------------------------------------------------ requests to the app's own gr.api endpoints

  // The app's root URL as gradio computed it for this page (it honours a proxy's headers and a sub-path, and is a
  // Space's own URL on a Space), so widgets work wherever the page is served.
  gb.root = () => (window.gradio_config?.root || location.href.split(/[?#]/)[0]).replace(/\/+$/, "");

  // One call to an endpoint through gradio's queue over its REST route: POST /gradio_api/call/NAME, then read the
  // event stream to its end. Resolves with the endpoint's result; rejects with the message gr.Error carried.
  gb.call = async (name, args) => {
    const url = `${gb.root()}/gradio_api/call/${name}`;
    const posted = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify({data: args})});
    if (!posted.ok) throw new Error(`${name}: HTTP ${posted.status}`);
    const {event_id} = await posted.json();
    const stream = await fetch(`${url}/${event_id}`);
    const text = await stream.text();  // a gr.api endpoint sends one result, so the whole stream is short
    let event = null;
    for (const line of text.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:") && (event === "complete" || event === "error")) {
        const data = JSON.parse(line.slice(5));
        if (event === "complete") return data[0];
        throw new Error(data?.error || (typeof data === "string" ? data : `${name} failed on the server.`));
      }
    }
    throw new Error(`${name}: the server's answer ended without a result.`);
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

  // A button that downloads `canvas` as a PNG named `filename`.
  gb.download = (button, canvas, filename) => button.addEventListener("click", () => {
    const link = document.createElement("a");
    link.download = filename;
    link.href = canvas.toDataURL("image/png");
    link.click();
  });

  return gb;
})();
