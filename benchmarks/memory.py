"""`python -m benchmarks.memory [--idle S] [--cleanup-age S]`: what the server's memory and /tmp do after the
heaviest legal request of every endpoint (issue 28: RSS back within 1.5 times its level after the warm-up, and /tmp
as it was but for files younger than the cleanup age, after 2 minutes idle).

The endpoints are the ones the server's /gradio_api/info lists; one with no heavy request below stops the run with a
RuntimeError that names it, so a new endpoint cannot be left out. The server runs offline, with
GLASSBOX_CLEANUP_AGE=S (60 s by default, so that a 2-minute idle sees a prune) and gradio's cache (GRADIO_TEMP_DIR)
in a fresh folder under /tmp made for the run. Measured: RSS after a warm-up (one small call of every endpoint, with
the same models as its heavy request, so that loading them is not counted as growth), after the sweep (each heavy
request twice at once, as the queue's concurrency of 2 allows), and after `--idle` seconds with nothing asked; and the
files under /tmp (every readable one, snapshotted before the server starts so that older files are left out, and
once it answers, since gradio keeps the pictures the app's components open with for good) after the sweep and after
the idle. Files the requests made that are still there after the idle and older than the cleanup age are the
failures (files that other Glassbox servers on the machine write in the shared download folders during the idle are
counted apart); files elsewhere in /tmp than gradio's cache and the app's /tmp/glassbox-* download folders are
listed by folder, since other processes on the machine write there too. Written to benchmarks/memory.md. Figures
are a report, never a test assertion.

What "heaviest legal" took, where the choice was not the cap itself:
- The ImageNet models (vgg16 for the conv_* endpoints, the largest; vit_b_16 for attention_image) get seeded
  random weights in the run's TORCH_HOME (benchmarks.__main__.random_imagenet_cache): memory depends on the
  architecture, not the training, and nothing can be downloaded here. Other Hugging Face models cannot be had
  offline, so the text and diffusion endpoints run their bundled models.
- An image is a 39.7 MP PNG of 19 MB (under the 40 MP and 20 MB caps); vae_interpolate gets two.
- diffusion_sample: Heun, which calls the network twice a step, at the 1,000-step cap (its recording keeps 1,000
  frames, the cap, like DDPM-1000), at the largest guidance and rescale.
- gan_train_2d and gan_train_images: every cap (steps, batch, k, the largest networks, WGAN-GP's double backward,
  the curves logged at every step); the API stops each after 120 s of training, its longest run.
- gan_2d_frames streams a run that a page plays (its token comes from a play, never from an API call), so two
  Chromium pages play the 2-D mode with the largest networks and batch (HEAVIEST_PLAY) and their views read the
  stream. A play may last 5 minutes, beyond this benchmark's 3 minutes a call; it plays 120 s, as long as the API's
  runs train.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from benchmarks.__main__ import Case, http_call, random_imagenet_cache
from benchmarks.gan import WATCH, changes, live_counter, open_gan, pause_button, rates
from benchmarks.runner import chromium, machine, machine_line, new_page, options
from benchmarks.server import start_app

REPORT = Path(__file__).with_name("memory.md")
TARGET = 1.5          # RSS after the idle, as a multiple of RSS after the warm-up (issue 28)
BIG_SIDE = (7280, 5456)   # 39.7 MP, under the 40 MP cap; smooth, so its PNG stays under the 20 MB upload cap
IMAGENET = ("vgg16", "vit_b_16")
PLAYED = "gan_2d_frames"  # called by a page's 2-D view while the page plays, never by a script
PLAY_S, WARM_PLAY_S = 120.0, 3.0
PLAY_WORDS = (f"two pages play the 2-D mode for {PLAY_S:.0f} s (grid of 25, batch 2,000, G and D 6 × 256), each view "
              "reading its run's frames")
# The 2-D mode's boxes at their caps (core.gan.toy: MAX_BATCH, MAX_LAYERS, MAX_NEURONS), by elem_id suffix. k stays 1
# and the loss non-saturating: the frames, what the stream carries, then come at their full rate (with k 20 and
# WGAN-GP as well, a page got one frame in 15 s).
HEAVIEST_PLAY = {"batch": 2000, "g-layers": 6, "g-neurons": 256, "d-layers": 6, "d-neurons": 256}
PAGE_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Request:
    fn: Callable   # the endpoint's own function: its name is the endpoint's, its signature orders the arguments
    words: str     # the heavy request, for the report
    heavy: dict    # its arguments; images as Path values, uploaded with every call as a page does
    small: dict    # the warm-up's call: the same models, the smallest input

    @property
    def name(self) -> str:
        return self.fn.__name__


def png(img: Image.Image, path: Path) -> Path:
    img.save(path, format="PNG")
    return path


def inputs(folder: Path) -> dict[str, Path]:
    """The big image (a smooth ramp, so that PNG compresses it under the upload cap) and a small one."""
    w, h = BIG_SIDE
    ramp = np.add.outer(np.linspace(0, 127, h), np.linspace(0, 127, w)).astype(np.uint8)
    return {"big": png(Image.fromarray(ramp).convert("RGB"), folder / "big.png"),
            "small": png(Image.new("RGB", (28, 28), (200, 120, 40)), folder / "small.png")}


# The inputs at their caps.
POINTS = np.round(np.random.default_rng(0).uniform(-1.4, 1.4, (10_000, 2)), 4).tolist()   # drawn data: 10,000 points
TEXT = ("the cat sat on the mat and looked at the dog " * 250)[:10_000]   # 10,000 characters
PROMPT = TEXT[:128]   # the bundled GPT's context: 128 characters, a token each
KERNEL, MATRIX = np.full((15, 15), 1 / 225).tolist(), (np.arange(64 * 64).reshape(64, 64) % 10).tolist()
IMAGE_WORDS = "a 39.7 MP PNG (19 MB)"


def requests(images: dict[str, Path]) -> list[Request]:
    """Every endpoint's heaviest legal request (the caps are the endpoints' docstrings' and core's) and its warm-up
    call, in the order of the tabs."""
    return [*convolution_attention(images["big"], images["small"]), *vae_diffusion_gan(images["big"], images["small"])]


def convolution_attention(big: Path, small: Path) -> list[Request]:
    from explorers.attention import endpoints as attention
    from explorers.attention import language_api as lm
    from explorers.convolution import network_api as net
    from explorers.convolution import playground_api as playground
    drawing = np.full((28, 28), 255)
    drawing[4:24, 12:16] = 0
    return [
        Request(playground.conv_kernel, f"{IMAGE_WORDS}, a 15×15 kernel, stride 1, padding 32 (reflect), RGB",
                {"image": big, "kernel": KERNEL, "padding": 32, "padding_mode": "reflect"},
                {"image": small, "kernel": [[1.0]]}),
        Request(playground.conv_arithmetic, "a 64×64 matrix, a 15×15 kernel, padding 32: 114×114 outputs, the last "
                "cell taken apart", {"matrix": MATRIX, "kernel": KERNEL, "padding": 32, "row": 113, "col": 113},
                {"matrix": [[1.0]], "kernel": [[1.0]]}),
        Request(playground.conv_pool, "a 64×64 matrix, 16×16 average windows at stride 1",
                {"matrix": MATRIX, "kind": "avg", "size": 16, "stride": 1}, {"matrix": [[1.0, 2.0], [3.0, 4.0]]}),
        Request(net.conv_layers, "vgg16", {"model": "vgg16"}, {"model": "vgg16"}),
        Request(net.conv_features, f"{IMAGE_WORDS}, vgg16, features.17 (512 maps of 28×28), top_k 1024: every map",
                {"image": big, "model": "vgg16", "layer": "features.17", "top_k": 1024},
                {"image": small, "model": "vgg16", "top_k": 1}),
        Request(net.conv_predict, f"{IMAGE_WORDS}, vgg16", {"image": big, "model": "vgg16"},
                {"image": small, "model": "vgg16"}),
        Request(net.conv_gradcam, f"{IMAGE_WORDS}, vgg16", {"image": big, "model": "vgg16"},
                {"image": small, "model": "vgg16"}),
        Request(net.conv_draw, "a 28×28 drawing (every call is that size)", {"pixels": drawing.tolist()},
                {"pixels": np.full((28, 28), 255).tolist()}),
        Request(attention.attention_text, "10,000 characters and a 10,000-character pair (cut to 512 tokens), the "
                "heads' average, special tokens hidden", {"text": TEXT, "text_pair": TEXT, "hide_special": True},
                {"text": "a cat"}),
        Request(attention.attention_scores, "the same text and pair, layer 5, head 11",
                {"text": TEXT, "text_pair": TEXT, "layer": 5, "head": 11}, {"text": "a cat", "layer": 0, "head": 0}),
        Request(attention.attention_image, f"{IMAGE_WORDS}, vit_b_16, every head",
                {"image": big, "model": "vit_b_16"}, {"image": small, "model": "vit_b_16"}),
        Request(lm.lm_next, "a 128-character prompt (the context), the top 100", {"text": PROMPT, "top": 100},
                {"text": "a", "top": 1}),
        Request(lm.lm_generate, "a 128-character prompt, 200 tokens, no top-k or top-p cut",
                {"text": PROMPT, "steps": 200}, {"text": "a", "steps": 1}),
        Request(lm.lm_logit_lens, "a 128-character prompt", {"text": PROMPT}, {"text": "a"}),
        Request(lm.lm_heads, "64 random tokens repeated (half the context)", {"length": 64}, {"length": 2}),
    ]


def vae_diffusion_gan(big: Path, small: Path) -> list[Request]:
    from explorers.diffusion import endpoints as diffusion
    from explorers.diffusion import toy as diffusion_toy
    from explorers.gan import endpoints as gan
    from explorers.vae import endpoints as vae
    return [
        Request(vae.vae_encode, f"{IMAGE_WORDS}, vae16", {"image": big, "model": "vae16"},
                {"image": small, "model": "vae16"}),
        Request(vae.vae_interpolate, "two 39.7 MP PNGs, 32 steps, slerp, vae16",
                {"image_a": big, "image_b": big, "steps": 32, "path": "slerp", "model": "vae16"},
                {"image_a": small, "image_b": small, "steps": 2, "model": "vae16"}),
        Request(vae.vae_decode, "a 16-D code, vae16", {"z": [3.0] * 16, "model": "vae16"},
                {"z": [0.0] * 16, "model": "vae16"}),
        Request(vae.vae_decode_point, "a point, vae2 (every call is one point)", {"z1": 3.0, "z2": -3.0},
                {"z1": 0.0, "z2": 0.0}),
        Request(vae.vae_kl, "1,024 dimensions", {"mu": [0.5] * 1024, "logvar": [-0.5] * 1024},
                {"mu": [0.0], "logvar": [0.0]}),
        Request(vae.vae_latent_map, "vae16, 10,000 test images", {"model": "vae16", "points": 10_000},
                {"model": "vae16", "points": 1}),
        Request(diffusion.diffusion_schedule, "cosine, T = 10,000", {"kind": "cosine", "T": 10_000},
                {"kind": "cosine", "T": 2}),
        Request(diffusion.diffusion_forward, f"{IMAGE_WORDS}, t = 1000", {"image": big, "t": 1000},
                {"image": small, "t": 0}),
        Request(diffusion.diffusion_sample, "Heun-1000 (2,000 network calls), class 7, guidance 10, rescale 1, "
                "every step recorded", {"label": 7, "guidance": 10.0, "scheduler": "heun", "steps": 1000,
                                        "record_every": 1, "rescale": 1.0},
                {"label": 7, "scheduler": "ddim", "steps": 1}),
        Request(diffusion_toy.diffusion_toy, "10,000 drawn points, 30 s or 20,000 steps of training, 2,000 "
                "particles, 1,000 sampling steps", {"dataset": "drawn", "points": POINTS, "seconds": 30.0,
                                                   "train_steps": 20_000, "particles": 2000, "steps": 1000},
                {"seconds": 0.1, "train_steps": 1, "particles": 1, "steps": 1}),
        Request(gan.gan_d_star, "10,000 points", {"x": np.linspace(-6, 6, 10_000).tolist()}, {"x": [0.0]}),
        Request(gan.gan_train_2d, "20,000 steps (stopped at 120 s), 10,000 drawn points, WGAN-GP, k 20, batch "
                "2,000, G and D 6 × 256, logged every step",
                {"dataset": "drawn", "points": POINTS, "loss": "wgan-gp", "steps": 20_000, "k": 20, "batch": 2000,
                 "g_layers": 6, "g_neurons": 256, "d_layers": 6, "d_neurons": 256, "log_every": 1},
                {"steps": 1}),
        Request(gan.gan_train_images, "500 steps (stopped at 120 s), WGAN-GP, k 10, batch 256",
                {"steps": 500, "loss": "wgan-gp", "k": 10, "batch": 256}, {"steps": 1, "batch": 2}),
    ]


def covered(url: str, defined: list[str]) -> list[str]:
    """The endpoints the server lists, once each has a heavy request here; else a RuntimeError naming the ones
    that have none (and the ones defined here that the server no longer has)."""
    listed = [name.lstrip("/") for name in httpx.get(f"{url}/gradio_api/info", timeout=60).json()["named_endpoints"]]
    missing = [name for name in listed if name not in defined]
    stale = [name for name in defined if name not in listed]
    if missing or stale:
        raise RuntimeError(f"benchmarks.memory has no heavy request for {', '.join(missing) or 'none'} (add one to "
                           f"requests()), and one for {', '.join(stale) or 'none'}, which the server does not list.")
    return listed


def twice_at_once(http: httpx.Client, url: str, case: Case) -> list[str]:
    """The call made twice at once; what went wrong, if anything."""
    errors = []

    def one():
        try:
            http_call(http, url, case, case.kwargs)
        except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as error:
            errors.append(str(error)[:300])
    both = [threading.Thread(target=one) for _ in range(2)]
    for t in both:
        t.start()
    for t in both:
        t.join()
    return errors


def play(url: str, pages: int, seconds: float, heaviest: bool) -> list[dict]:
    """`pages` Chromium pages play the GAN tab's 2-D mode at once (with `heaviest`, the grid of 25, the largest batch
    and networks), each page's view reading its run's frames from gan_2d_frames, for `seconds` after every view's
    first frames; then each pauses. Each page's pictures and iterations a second; playwright's TimeoutError when a
    view gets no frames within PAGE_TIMEOUT_MS."""
    with chromium() as browser:
        opened = [new_page(browser, PAGE_TIMEOUT_MS) for _ in range(pages)]
        for page in opened:
            open_gan(page, url)
            if heaviest:
                page.locator("#gan-dataset").get_by_text("grid of 25").click()
                for box, value in HEAVIEST_PLAY.items():
                    page.locator(f"#gan-{box} input").fill(str(value))
                    page.locator(f"#gan-{box} input").press("Enter")
            page.evaluate(WATCH, live_counter("gan"))
        pauses = [pause_button(page, "gan") for page in opened]
        for page in opened:
            page.click("#gan-play")
        for page in opened:   # a run starts in a worker process, which may first have to import torch
            page.wait_for_function("(sel) => window.__gan[sel].length > 1", arg=live_counter("gan"),
                                   timeout=PAGE_TIMEOUT_MS)
        time.sleep(seconds)
        seen = [rates(changes(page, live_counter("gan")), 0.0) for page in opened]
        for pause in pauses:
            pause()
        for page in opened:
            page.wait_for_function("() => /Paused/.test(document.querySelector('#gan-status').innerText)",
                                   timeout=PAGE_TIMEOUT_MS)
    return seen


# ---------------------------------------------------------------- /tmp


def tmp_files() -> dict[str, tuple[int, float]]:
    """Every regular file under the temporary folder that can be read: path -> (bytes, the later of its mtime and
    ctime: gradio counts a file's age from its ctime, the app's pruning from its mtime)."""
    found = {}
    for folder, _, names in os.walk(tempfile.gettempdir()):   # os.walk passes over folders it cannot read
        for name in names:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except OSError:   # removed meanwhile
                continue
            if stat.S_ISREG(st.st_mode):
                found[path] = (st.st_size, max(st.st_mtime, st.st_ctime))
    return found


def new_files(before: dict, now: dict, at: float, age: float, cache: Path, own: set[str],
              quiet_since: float | None = None) -> dict:
    """The files in `now` that were not in `before` (leaving out the benchmark's `own`), by place: gradio's cache of
    this run's server, the app's download folders (which every Glassbox server on the machine writes and prunes), or
    elsewhere; per place how many, their bytes, and the ones older than `age` seconds at time `at` (how many, and
    their top folders under /tmp). Files in the download folders written after `quiet_since`, while nothing was
    asked of this run's server, are other servers' (the idle's last minute may not have seen them pruned yet): only
    counted, as "others"."""
    from explorers.common import DOWNLOAD_FOLDERS, DOWNLOADS
    places = {"gradio_cache": [cache], "downloads": [DOWNLOADS / folder for folder in DOWNLOAD_FOLDERS]}
    out = {where: {"files": 0, "bytes": 0, "older": 0, "older_in": Counter(), "others": 0}
           for where in (*places, "elsewhere")}
    root = Path(tempfile.gettempdir())
    for path, (size, changed) in now.items():
        if path in before or path in own:
            continue
        where = next((w for w, folders in places.items() if any(Path(path).is_relative_to(f) for f in folders)),
                     "elsewhere")
        p = out[where]
        if where == "downloads" and quiet_since is not None and changed > quiet_since:
            p["others"] += 1
            continue
        p["files"] += 1
        p["bytes"] += size
        if at - changed > age:
            p["older"] += 1
            p["older_in"][Path(path).relative_to(root).parts[0]] += 1
    for p in out.values():
        p["older_in"] = dict(p["older_in"].most_common(5))
    return out


# ---------------------------------------------------------------- the run


def measure(app, todo: list[Request], before: dict, idle_s: float, age: float, cache: Path) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    listed = covered(app.url, [r.name for r in todo] + [PLAYED])
    # What the server wrote as it started (the pictures its components open with, which gradio keeps in its cache
    # for good, under the same names at every start): reported apart, since no request made them.
    started = tmp_files()
    own = {app.log_path}
    start_up = new_files(before, started, time.time(), age, cache, own)
    rss, workers, seconds, errors = {}, {}, {}, {}

    def note(moment: str) -> None:
        rss[moment], workers[moment] = app.rss_mb(), app.workers_rss_mb()
        print(f"RSS {moment}: {rss[moment]:.0f} MB (workers {workers[moment]:.0f} MB)", flush=True)

    with httpx.Client(timeout=900) as http:
        for r in todo:
            http_call(http, app.url, Case("warm-up", r.name, r.small, r.fn), r.small)
        play(app.url, 1, WARM_PLAY_S, heaviest=False)
        note("after_warm_up")
        for r in todo:
            t0 = time.perf_counter()
            errors[r.name] = twice_at_once(http, app.url, Case(r.words, r.name, r.heavy, r.fn))
            seconds[r.name] = round(time.perf_counter() - t0, 1)
            print(f"{r.name}: {seconds[r.name]} s{' ' + str(errors[r.name]) if errors[r.name] else ''}", flush=True)
    t0 = time.perf_counter()
    try:
        plays, errors[PLAYED] = play(app.url, 2, PLAY_S, heaviest=True), []
    except PlaywrightError as error:
        plays, errors[PLAYED] = [], [str(error)[:300]]
    seconds[PLAYED] = round(time.perf_counter() - t0, 1)
    note("after_sweep")
    swept = new_files(started, tmp_files(), time.time(), age, cache, own)
    quiet_since = time.time()
    time.sleep(idle_s)
    note("after_idle")
    idle = new_files(started, tmp_files(), time.time(), age, cache, own, quiet_since)
    words = {r.name: r.words for r in todo} | {PLAYED: PLAY_WORDS}
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(), "idle_s": idle_s,
            "cleanup_age_s": age, "rss_mb": {k: round(v, 1) for k, v in rss.items()},
            "workers_rss_mb": {k: round(v, 1) for k, v in workers.items()},
            "ratio_after_idle": round(rss["after_idle"] / rss["after_warm_up"], 2),
            "endpoints": [{"name": n, "request": words[n], "seconds": seconds[n], "errors": errors[n]} for n in listed],
            "plays": plays, "tmp_at_start": start_up, "tmp_after_sweep": swept, "tmp_after_idle": idle}


def mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def where(tmp: dict) -> str:
    """The top folders under /tmp of the files older than the cleanup age in the server's places."""
    folders = {**tmp["gradio_cache"]["older_in"], **tmp["downloads"]["older_in"]}
    return f"; by folder: {', '.join(f'{k} {v}' for k, v in folders.items())}" if folders else ""


def markdown_lines(r: dict) -> list[str]:
    rss, workers, idle = r["rss_mb"], r["workers_rss_mb"], r["tmp_after_idle"]
    swept, start_up = r["tmp_after_sweep"], r["tmp_at_start"]["gradio_cache"]
    failures = idle["gradio_cache"]["older"] + idle["downloads"]["older"]
    young = sum(idle[w]["files"] - idle[w]["older"] for w in ("gradio_cache", "downloads"))
    met = "met" if r["ratio_after_idle"] <= TARGET else "**missed**"
    failed = [e for e in r["endpoints"] if e["errors"]]
    elsewhere = idle["elsewhere"]
    lines = [
        f"- Server RSS: {rss['after_warm_up']:,} MB after the warm-up, {rss['after_sweep']:,} MB after the sweep, "
        f"**{rss['after_idle']:,} MB** after {r['idle_s']:.0f} s idle: **{r['ratio_after_idle']}×** the warm-up's "
        f"(target ≤ {TARGET}×: {met}; {rss['after_idle'] - rss['after_warm_up']:+,.1f} MB; the warm-up loaded every "
        f"model the sweep uses, {' and '.join(IMAGENET)} among them). Its worker processes "
        f"(the 2-D plays): {workers['after_warm_up']:,}, {workers['after_sweep']:,} and {workers['after_idle']:,} MB",
        f"- /tmp, left out below: the {start_up['files']} files ({mb(start_up['bytes'])}) the server wrote in "
        "gradio's cache as it started, the pictures its components open with, which gradio keeps for good (under "
        "the same names at every start)",
        f"- /tmp after the sweep: {sum(p['files'] for p in swept.values()):,} new files, "
        f"{mb(sum(p['bytes'] for p in swept.values()))} (gradio's cache {swept['gradio_cache']['files']:,} files, "
        f"{mb(swept['gradio_cache']['bytes'])}; the app's download folders {swept['downloads']['files']:,}; "
        f"elsewhere {swept['elsewhere']['files']:,})",
        f"- /tmp after the idle (cleanup age {r['cleanup_age_s']:g} s): **{failures} files older than the cleanup age "
        f"left** in gradio's cache and the download folders (target 0: {'met' if not failures else '**missed**'}"
        f"{where(idle)}), "
        f"{young} younger ones (and {idle['downloads']['others']} that other Glassbox servers on the machine wrote in "
        "the shared download folders during the idle); elsewhere in /tmp, which other processes write too, "
        f"{elsewhere['files']:,} new files, "
        f"{elsewhere['older']:,} of them older than the cleanup age"
        + (f" (by folder: {', '.join(f'{k} {v}' for k, v in elsewhere['older_in'].items())})"
           if elsewhere["older_in"] else ""),
        f"- Heavy requests that did not complete: **{len(failed)}**"
        + "".join(f"; {e['name']}: {e['errors'][0]}" for e in failed), "",
        "| endpoint | heavy request (twice at once) | seconds |", "| --- | --- | ---: |",
    ]
    lines += [f"| {e['name']} | {e['request']} | {e['seconds']}{' (failed)' if e['errors'] else ''} |"
              for e in r["endpoints"]]
    if r["plays"]:
        lines += ["", f"The 2-D plays ({PLAYED}): " + "; ".join(
            f"page {n + 1} {p['iterations_per_s']:,} iterations/s at {p['pictures_per_s']} pictures/s"
            for n, p in enumerate(r["plays"]))]
    return lines


def run(idle_s: float, age: int) -> dict:
    """A server of its own, in a folder of its own under /tmp (inputs, the random ImageNet weights, gradio's cache),
    which goes with it."""
    folder = Path(tempfile.mkdtemp(prefix="glassbox-memory-"))
    try:
        random_imagenet_cache(folder / "torch_home", IMAGENET)
        todo = requests(inputs(folder))
        cache = folder / "gradio"
        before = tmp_files()
        app = start_app(env={"GRADIO_TEMP_DIR": str(cache), "GLASSBOX_CLEANUP_AGE": str(age),
                             "TORCH_HOME": str(folder / "torch_home")})
        try:
            return measure(app, todo, before, idle_s, age, cache)
        finally:
            app.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> dict:
    args = options("memory", __doc__, argv, idle=(float, 120.0, "seconds of quiet before the last reading"),
                   cleanup_age=(int, 60, "the server's GLASSBOX_CLEANUP_AGE, in seconds"))
    result = run(args.idle, args.cleanup_age)
    report = "\n".join(markdown_lines(result))
    print(report)
    REPORT.write_text(f"# Memory after the heaviest requests ({result['date']}, `python -m benchmarks.memory`)\n\n"
                      f"{machine_line(result['machine'])}.\n\n{report}\n")
    return result


if __name__ == "__main__":
    main()
