"""`python -m benchmarks [--repeats N]`: time every endpoint through a running server (gradio_client) and as the
bare in-process function on the same input, and write benchmarks/report.json and benchmarks/report.md.

"Bare" calls the very function the endpoint exposes, in this process, with the image already in gradio's upload
folder. Each call through the server is timed two ways, both uploading the image every time as a person's
browser does: with gradio_client (whose result loop polls every 50 ms, so it adds up to about 100 ms of its own)
and with plain HTTP on gradio's REST route (POST /gradio_api/upload, POST /gradio_api/call/NAME, then read the
event stream), which is what the web server and the queue themselves add. Cold start is process start to the
first HTTP 200, and RSS is the server's resident memory after every case has run. The VAE latent map's first
render (the first vae_latent_map call on the fresh server, which computes the test set's codes and the decoded
grid that later calls reuse) is timed once, before any case runs. The GAN and Diffusion tabs' live views are
measured in Chromium against bare loops (benchmarks/gan.py, benchmarks/diffusion.py), the attention head view's
drawing in Chromium (benchmarks/attention.py), the CNN section's drawing pad and map hover (benchmarks/cnn.py), the
VAE latent map's pointer → picture (benchmarks/vae.py), the GPT section's next-token view and generation against a
bare loop (benchmarks/gpt.py), and a trivial endpoint's REST round trip against a bare gradio app serving the same
function, called alternately (benchmarks/overhead.py). Last, since the runs it leaves queued would slow whatever came
after it: another client's conv_arithmetic while a script posts DDPM-1000 as fast as it can (benchmarks/fairness.py).
Figures are medians; they are a report, never a test assertion. Not run here, since it needs no server and takes
minutes of training: the 2-D GAN's modes covered and JS over iterations, per candidate setting and seed
(`python -m benchmarks.gan_modes`, which chose the tab's defaults).
"""
from __future__ import annotations

import argparse
import inspect
import itertools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import torch
import torchvision
from PIL import Image

from benchmarks.attention import markdown_lines as head_view_lines
from benchmarks.attention import measure as head_view_live
from benchmarks.browser import CNN, VAE, new_image
from benchmarks.cnn import markdown_lines as cnn_live_lines
from benchmarks.cnn import measure as cnn_live
from benchmarks.diffusion import markdown_lines as diffusion_lines
from benchmarks.diffusion import measure as diffusion_live
from benchmarks.fairness import markdown_lines as fairness_lines
from benchmarks.fairness import measure as fairness_live
from benchmarks.gan import markdown_lines as gan_lines
from benchmarks.gan import measure as gan_live
from benchmarks.gpt import markdown_lines as gpt_lines
from benchmarks.gpt import measure as gpt_live
from benchmarks.overhead import markdown_lines as overhead_lines
from benchmarks.overhead import measure as overhead_live
from benchmarks.runner import machine, machine_line, spread
from benchmarks.server import ROOT, start_app
from benchmarks.vae import markdown_lines as vae_lines
from benchmarks.vae import measure as vae_live

GAN_SECONDS, GAN_ROUNDS = 10.0, 3   # the measured window of each GAN play, and the 2-D plays against bare loops

HERE = Path(__file__).resolve().parent


@dataclass
class Case:
    name: str             # the row label
    api_name: str         # the endpoint
    kwargs: dict          # keyword arguments; images as Path values (image, image_a, image_b ...)
    bare: Callable        # the endpoint's own function
    fresh_text: bool = False  # a different first word on every call, so no call is answered from a cache

    def call_kwargs(self, kwargs: dict) -> dict:
        if not self.fresh_text:
            return kwargs
        rest = kwargs["text"].split(" ", 1)[1]
        return {**kwargs, "text": f"{next(FRESH)} {rest}"}  # BERT's vocabulary has every number below 1000


FRESH = itertools.count(100)


def median_s(fn: Callable, repeats: int) -> float:
    fn()  # warm-up: model loading and first-call caches are not what a person waits for on later clicks
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def prepare_inputs(folder: Path) -> dict[str, Path]:
    """The benchmark images: a 512x512 RGB photo, a 224x224 RGB crop, and two 28x28 Fashion-MNIST test samples of
    different classes (the first test image, a T-shirt/top, and the first Sneaker), the VAE's path endpoints."""
    import numpy as np

    from core.data import load_sample
    photo = Image.open(ROOT / "assets" / "photos" / "astronaut.jpg").convert("RGB").resize((512, 512))
    paths = {"photo512": folder / "photo512.png", "photo224": folder / "photo224.png",
             "fashion28": folder / "fashion28.png", "fashion28b": folder / "fashion28b.png"}
    photo.save(paths["photo512"])
    photo.resize((224, 224)).save(paths["photo224"])
    sample = load_sample("test")
    first = sample.images[0]
    other = int(np.flatnonzero(sample.labels == 7)[0])  # Sneaker; the first image is a T-shirt/top
    Image.fromarray(first).save(paths["fashion28"])
    Image.fromarray(sample.images[other]).save(paths["fashion28b"])
    return paths


def random_imagenet_cache(torch_home: Path, names: tuple[str, ...]) -> None:
    """torchvision models `names` with seeded random weights, saved where torch hub keeps ImageNet weights: timing and
    memory need the architecture, not the training, and nothing can be downloaded here."""
    os.environ["TORCH_HOME"] = str(torch_home)
    from core.vision import checkpoint_path
    for name in names:
        path = checkpoint_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save(torchvision.models.get_model(name).state_dict(), path)


def cases(paths: dict[str, Path]) -> list[Case]:
    from explorers.attention import endpoints as attention
    from explorers.convolution import network_api, playground_api
    from explorers.vae import endpoints as vae_endpoints
    laplacian = [[0, -1, 0], [-1, 4, -1], [0, -1, 0]]

    def words(n: int) -> str:
        """n words that all-MiniLM-L6-v2 reads as n + 2 tokens (one each, plus [CLS] and [SEP])."""
        return " ".join(["attention"] * n)

    return [
        Case("conv_kernel, 512x512 RGB, 3x3 Laplacian", "conv_kernel",
             {"image": paths["photo512"], "kernel": laplacian, "padding": 1}, playground_api.conv_kernel),
        Case("conv_features, cnn, 28x28", "conv_features",
             {"image": paths["fashion28"], "model": "cnn", "layer": "relu3", "top_k": 16}, network_api.conv_features),
        Case("conv_gradcam, cnn, 28x28", "conv_gradcam",
             {"image": paths["fashion28"], "model": "cnn"}, network_api.conv_gradcam),
        Case("conv_features, resnet18 (random weights), 224x224", "conv_features",
             {"image": paths["photo224"], "model": "resnet18", "layer": "layer1.0.relu_1", "top_k": 16},
             network_api.conv_features),
        Case("conv_gradcam, resnet18 (random weights), 224x224", "conv_gradcam",
             {"image": paths["photo224"], "model": "resnet18"}, network_api.conv_gradcam),
        Case("attention_text, all-MiniLM-L6-v2, 32 tokens (repeated text: model run cached)",
             "attention_text", {"text": words(30)}, attention.attention_text),
        Case("attention_text, all-MiniLM-L6-v2, 256 tokens (repeated text: model run cached)",
             "attention_text", {"text": words(254)}, attention.attention_text),
        Case("attention_text, all-MiniLM-L6-v2, 32 tokens (new text each call: model runs)",
             "attention_text", {"text": words(30)}, attention.attention_text, fresh_text=True),
        Case("attention_text, all-MiniLM-L6-v2, 256 tokens (new text each call: model runs)",
             "attention_text", {"text": words(254)}, attention.attention_text, fresh_text=True),
        Case("attention_image, vit, 28x28", "attention_image",
             {"image": paths["fashion28"], "model": "vit"}, attention.attention_image),
        *(Case(f"vae_interpolate, vae16, 28x28 T-shirt → Sneaker, {steps} steps", "vae_interpolate",
               {"image_a": paths["fashion28"], "image_b": paths["fashion28b"], "steps": steps, "model": "vae16"},
               vae_endpoints.vae_interpolate) for steps in (10, 32)),
        Case("vae_decode, vae2, z = (0.5, -0.5)", "vae_decode", {"z": [0.5, -0.5], "model": "vae2"},
             vae_endpoints.vae_decode),
        Case("vae_decode_point, vae2, z = (0.5, -0.5) (the latent map's call per pointer move)", "vae_decode_point",
             {"z1": 0.5, "z2": -0.5, "model": "vae2"}, vae_endpoints.vae_decode_point),
    ]


LATENT_MAP = {"model": "vae2", "points": 2000}  # the map the VAE tab draws


def latent_map_first_call(http: httpx.Client, url: str) -> dict:
    """The very first vae_latent_map call on the fresh server, and then in this process (before any VAE case has
    run in either): cold, it encodes the whole test set and decodes the 2-D grid, which later calls reuse, so the
    cases' medians after a warm-up never see it. One call each, not a median."""
    from explorers.vae import endpoints as vae_endpoints
    case = Case("vae_latent_map first call", "vae_latent_map", LATENT_MAP, vae_endpoints.vae_latent_map)
    t0 = time.perf_counter()
    http_call(http, url, case, case.kwargs)
    over_http = time.perf_counter() - t0
    t0 = time.perf_counter()
    vae_endpoints.vae_latent_map(**LATENT_MAP)
    bare = time.perf_counter() - t0
    print(f"vae_latent_map, first call: HTTP {over_http * 1e3:.0f} ms, bare {bare * 1e3:.0f} ms", flush=True)
    return {**LATENT_MAP, "http_ms": round(over_http * 1e3, 1), "bare_ms": round(bare * 1e3, 1)}


def cnn_section_bare(repeats: int) -> float:
    """Median seconds for every view of the CNN section for a new image, in this process: what one gallery click
    computes (a fresh image each call, so the recorded run is never answered from the cache)."""
    from core.data import load_sample
    from explorers.convolution import network as net
    images = load_sample("test").images
    calls = itertools.count()

    def views():
        img = Image.fromarray(images[next(calls) % len(images)])
        net.section_views(img, "cnn", None, "top", 16, "", "map", 1.0, False, net.PREDICTED, 0.5)
    return median_s(views, repeats)


def rss_growth(http: httpx.Client, app, all_cases: list, requests: int = 1000, from_request: int = 200) -> dict:
    """RSS after `from_request` and after `requests` HTTP calls cycling through every case: a leak grows it."""
    rss, stalled = {}, []
    for i in range(1, requests + 1):
        case = all_cases[i % len(all_cases)]
        try:
            http_call(http, app.url, case, case.call_kwargs(case.kwargs))
        except StalledCall as e:   # counted and said in the report, not waited on for ever
            stalled.append(str(e))
        if i in (from_request, requests):
            rss[i] = app.rss_mb()
    grown = None if None in rss.values() else round(100 * (rss[requests] / rss[from_request] - 1), 2)
    return {"requests": requests, "from_request": from_request, "rss_mb": {str(k): _round(v) for k, v in rss.items()},
            "growth_percent": grown, "stalled": stalled}


class StalledCall(RuntimeError):
    """A REST call whose result stream brought no result within STALL_SECONDS (it sent heartbeats, so no read
    timed out)."""


STALL_SECONDS = 180.0


def in_upload_folder(kwargs: dict, upload: Path) -> dict:
    """The bare call's arguments: image paths copied into gradio's upload folder, as the server would have them."""
    out = dict(kwargs)
    for name, value in kwargs.items():
        if isinstance(value, Path):
            dest = upload / "benchmarks" / value.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(value, dest)
            out[name] = {"path": str(dest)}
    return out


def http_call(http: httpx.Client, url: str, case: Case, kwargs: dict) -> None:
    """One call on gradio's REST route, arguments in the function's own order, the images uploaded first."""
    params = inspect.signature(case.bare).parameters
    data = []
    for name, param in params.items():
        value = kwargs.get(name, param.default)
        if isinstance(value, Path):
            with open(value, "rb") as f:
                uploaded = http.post(f"{url}/gradio_api/upload", files={"files": f}).json()[0]
            value = {"path": uploaded, "meta": {"_type": "gradio.FileData"}}
        data.append(value)
    event = http.post(f"{url}/gradio_api/call/{case.api_name}", json={"data": data}).json()["event_id"]
    stream, deadline = "", time.monotonic() + STALL_SECONDS
    with http.stream("GET", f"{url}/gradio_api/call/{case.api_name}/{event}") as response:
        for chunk in response.iter_text():
            stream += chunk
            if time.monotonic() > deadline:
                raise StalledCall(f"{case.name}: no result within {STALL_SECONDS:g} s; read {stream[-200:]!r}")
    if "event: complete" not in stream:
        raise RuntimeError(f"{case.name} failed over HTTP: {stream[:300]}")


def run(repeats: int) -> dict:
    from gradio.utils import get_upload_folder
    from gradio_client import Client, handle_file

    work = Path(tempfile.mkdtemp(prefix="glassbox-bench-"))
    random_imagenet_cache(work / "torch_home", ("resnet18",))
    paths = prepare_inputs(work)
    app = start_app(env={"TORCH_HOME": str(work / "torch_home")})
    rss_idle = app.rss_mb()
    try:
        client = Client(app.url, verbose=False)
        http = httpx.Client(timeout=120)
        latent_map = latent_map_first_call(http, app.url)  # first: nothing may have warmed the VAE before it
        rows = []
        all_cases = cases(paths)
        for case in all_cases:
            server_kwargs = {k: handle_file(str(v)) if isinstance(v, Path) else v for k, v in case.kwargs.items()}
            bare_kwargs = in_upload_folder(case.kwargs, Path(get_upload_folder()))
            # median_s calls each lambda before the loop moves on; the defaults bind this case all the same
            server = median_s(lambda case=case, kw=server_kwargs: client.predict(api_name=f"/{case.api_name}",
                                                                                 **case.call_kwargs(kw)), repeats)
            over_http = median_s(lambda case=case: http_call(http, app.url, case, case.call_kwargs(case.kwargs)),
                                 repeats)
            bare = median_s(lambda case=case, kw=bare_kwargs: case.bare(**case.call_kwargs(kw)), repeats)
            rows.append({"case": case.name, "endpoint": case.api_name, "server_median_ms": round(server * 1e3, 1),
                         "http_median_ms": round(over_http * 1e3, 1), "bare_median_ms": round(bare * 1e3, 1),
                         "ratio": round(server / bare, 2), "http_ratio": round(over_http / bare, 2)})
            print(f"{case.name}: gradio_client {server * 1e3:.1f} ms, HTTP {over_http * 1e3:.1f} ms, "
                  f"bare {bare * 1e3:.1f} ms", flush=True)
        rss_after = app.rss_mb()
        overhead = overhead_live(app.url)
        print("\n".join(overhead_lines(overhead)), flush=True)
        bare = cnn_section_bare(repeats)
        browser = new_image(app.url, CNN)
        vae_browser = new_image(app.url, VAE)
        cnn_widgets = cnn_live(app.url)
        print("\n".join(cnn_live_lines(cnn_widgets)), flush=True)
        vae_map = {**vae_live(app.url, clicks=0), "gallery_click": vae_browser}  # the click: just measured
        print("\n".join(vae_lines(vae_map)), flush=True)
        head_view = head_view_live(app.url)
        print("\n".join(head_view_lines(head_view)), flush=True)
        gpt = gpt_live(app.url)
        print("\n".join(gpt_lines(gpt)), flush=True)
        gan = gan_live(app.url, GAN_SECONDS, GAN_ROUNDS)
        print("\n".join(gan_lines(gan)), flush=True)
        diffusion = diffusion_live(app.url)
        print("\n".join(diffusion_lines(diffusion)), flush=True)
        rows.append({"case": "new image → every view of the CNN section (the UI's handler, in process; in the "
                             "browser: the line above)", "endpoint": "(UI)",
                     "server_median_ms": None, "http_median_ms": None, "bare_median_ms": round(bare * 1e3, 1),
                     "ratio": None, "http_ratio": None})
        print(f"browser, CNN gallery click to every view: {browser['median_ms']} ms; bare {bare * 1e3:.1f} ms",
              flush=True)
        growth = rss_growth(http, app, all_cases)
        print(f"RSS growth over {growth['requests']} mixed requests: {growth['growth_percent']}%", flush=True)
        fairness = fairness_live(app.url)
        print("\n".join(fairness_lines(fairness)), flush=True)
    finally:
        app.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "repeats": repeats,
            "machine": machine(),
            "cold_start_s": round(app.cold_start_s, 2),
            "server_rss_mb": {"after_start": _round(rss_idle), "after_all_cases": _round(rss_after)},
            "rss_growth": growth, "browser": browser, "vae_browser": vae_browser, "cnn_widgets": cnn_widgets,
            "vae_map": vae_map, "head_view": head_view, "gan": gan, "gpt": gpt, "diffusion": diffusion,
            "overhead": overhead, "fairness": fairness,
            "vae_latent_map_first_call": latent_map, "rows": rows}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def browser_line(section: str, b: dict) -> str:
    return (f"- Browser, {section}: a gallery click until every view has changed, **{b['median_ms']} ms** "
            f"({spread(b['values_ms'], 'clicks in Chromium')}; per view: "
            + ", ".join(f"{k} {t}" for k, t in b["per_view_median_ms"].items()) + ")")


def markdown(report: dict) -> str:
    m, g, v = report["machine"], report["rss_growth"], report["vae_latent_map_first_call"]
    lines = [
        "# Glassbox benchmark report", "",
        f"{report['date']}; {machine_line(m)}; medians of {report['repeats']} calls after one warm-up.", "",
        f"- Cold start (process start to first HTTP 200): **{report['cold_start_s']} s**",
        f"- Server RSS: {report['server_rss_mb']['after_start']} MB after start, "
        f"**{report['server_rss_mb']['after_all_cases']} MB** after every case below",
        f"- RSS growth over {g['requests']:,} mixed requests (HTTP, cycling through the cases below): "
        f"**{g['growth_percent']:+}%** between request {g['from_request']} ({g['rss_mb'][str(g['from_request'])]} MB) "
        f"and request {g['requests']} ({g['rss_mb'][str(g['requests'])]} MB)"
        + (f"; **{len(g['stalled'])} calls brought no result** within {STALL_SECONDS:g} s (first: {g['stalled'][0]})"
           if g.get("stalled") else ""),
        browser_line("CNN section", report["browser"]),
        browser_line("VAE tab (endpoint A's gallery)", report["vae_browser"]),
        *(cnn_live_lines(report["cnn_widgets"]) if "cnn_widgets" in report else []),
        *(vae_lines(report["vae_map"]) if "vae_map" in report else []),
        *(head_view_lines(report["head_view"]) if "head_view" in report else []),
        *(gpt_lines(report["gpt"]) if "gpt" in report else []),
        *gan_lines(report["gan"]),
        *(diffusion_lines(report["diffusion"]) if "diffusion" in report else []),
        *(overhead_lines(report["overhead"]) if "overhead" in report else []),
        *(fairness_lines(report["fairness"]) if "fairness" in report else []),
        f"- VAE latent map, first render: the first vae_latent_map call ({v['model']}, {v['points']:,} points) on "
        f"the fresh server, **{v['http_ms']} ms** over HTTP ({v['bare_ms']} ms bare, the first call in this "
        "process); cold, it encodes the test set and decodes the 2-D grid, which later calls reuse (one call "
        "each, not a median)", "",
        "| case | gradio_client (ms) | HTTP (ms) | bare (ms) | gradio_client / bare | HTTP / bare |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {r['case']} | {r['server_median_ms'] or '–'} | {r['http_median_ms'] or '–'} | "
              f"{r['bare_median_ms']} | {r['ratio'] or '–'} | {r['http_ratio'] or '–'} |" for r in report["rows"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--repeats", type=int, default=10, help="timed calls per case, after one warm-up")
    p.add_argument("--out", type=Path, default=HERE, help="folder for report.json and report.md")
    args = p.parse_args(argv)
    report = run(args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    print(f"wrote {args.out / 'report.json'} and {args.out / 'report.md'}")
    return report


if __name__ == "__main__":
    main()
