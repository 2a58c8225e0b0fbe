"""`python -m benchmarks.overhead [--calls N]`: what Glassbox adds to a trivial endpoint's REST round trip, against a
bare gradio app serving the same function.

The bare app is a `gr.Blocks` holding only `gr.api(vae_kl)` (the very function behind Glassbox's vae_kl endpoint,
without the output guard), launched with gradio's defaults in a process of its own (`--serve-bare PORT`). Both are
called as a browser's page does, with one keep-alive HTTP client each: POST /gradio_api/call/vae_kl with
{"data": [mu, logvar]} → {"event_id"}, then GET /gradio_api/call/vae_kl/<event_id>, read to its end (gradio closes
the stream after `event: complete`). Calls alternate between the two apps, so a busy machine slows both alike;
after a warm-up, each phase (POST → event id, GET → stream complete) and the whole round trip are timed, and the
medians reported. Figures are a report, never a test assertion.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import httpx

from benchmarks.runner import options, run_on_app
from benchmarks.server import ROOT, answers, free_port

ENDPOINT = "vae_kl"
DATA = [[0.5, -0.5], [0.1, -0.2]]  # mu, logvar: a 2-D code's KL
WARMUP = 20
PHASES = ("post", "stream", "total")


def serve_bare(port: int) -> None:
    """The bare app: only gr.api(vae_kl), gradio's defaults; blocks until the process is stopped."""
    import gradio as gr

    from explorers.vae.endpoints import vae_kl
    with gr.Blocks() as demo:
        gr.api(vae_kl, api_name=ENDPOINT)
    demo.launch(server_name="127.0.0.1", server_port=port)


def start_bare(timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.overhead", "--serve-bare", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=os.environ | {"GRADIO_ANALYTICS_ENABLED": "False"})
    url, t0 = f"http://127.0.0.1:{port}", time.monotonic()
    while not answers(url):
        if proc.poll() is not None or time.monotonic() - t0 > timeout_s:
            proc.kill()
            raise RuntimeError(f"the bare gradio app did not answer on {url} within {timeout_s:.0f} s")
        time.sleep(0.1)
    return proc, url


def round_trip(http: httpx.Client, url: str) -> dict[str, float]:
    """One REST call of vae_kl; seconds per phase."""
    t0 = time.perf_counter()
    reply = http.post(f"{url}/gradio_api/call/{ENDPOINT}", json={"data": DATA})
    t1 = time.perf_counter()
    stream = http.get(f"{url}/gradio_api/call/{ENDPOINT}/{reply.json()['event_id']}").text
    t2 = time.perf_counter()
    if "event: complete" not in stream:
        raise RuntimeError(f"{url}: {ENDPOINT} did not complete: {stream[:300]}")
    return {"post": t1 - t0, "stream": t2 - t1, "total": t2 - t0}


def alternating(glassbox_url: str, bare_url: str, calls: int) -> dict:
    """`calls` round trips to each app, alternating (each app goes first every other time), after WARMUP each;
    medians in ms per phase."""
    times = {"glassbox": [], "bare": []}
    with httpx.Client(timeout=60) as g, httpx.Client(timeout=60) as b:
        for i in range(WARMUP + calls):
            for name, http, url in (("glassbox", g, glassbox_url), ("bare", b, bare_url))[::1 if i % 2 else -1]:
                t = round_trip(http, url)
                if i >= WARMUP:
                    times[name].append(t)
    medians = {name: {p: round(statistics.median(t[p] for t in ts) * 1e3, 2) for p in PHASES}
               for name, ts in times.items()}
    return {"calls": calls, **medians, "ratio": round(medians["glassbox"]["total"] / medians["bare"]["total"], 2)}


def markdown_lines(r: dict) -> list[str]:
    g, b = r["glassbox"], r["bare"]
    return [f"- trivial endpoint REST round trip: Glassbox vs bare gradio (POST /gradio_api/call/vae_kl, then its "
            f"stream to `event: complete`, {r['calls']} calls each, alternating): **{g['total']} ms** against "
            f"{b['total']} ms, ratio **{r['ratio']}** (POST {g['post']} against {b['post']} ms, stream "
            f"{g['stream']} against {b['stream']} ms)"]


def measure(glassbox_url: str, calls: int = 200) -> dict:
    """Start the bare app, time it against the Glassbox server at `glassbox_url`, stop it even on error."""
    proc, bare_url = start_bare()
    try:
        return alternating(glassbox_url, bare_url, calls)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main(argv=None) -> dict | None:
    args = options("overhead", __doc__, argv, calls=(int, 200, "timed round trips per app, after a warm-up"),
                   serve_bare=(int, None, "serve the bare app on this port (what the benchmark starts)"))
    if args.serve_bare is not None:
        return serve_bare(args.serve_bare)
    return run_on_app(lambda url: measure(url, args.calls), markdown_lines)


if __name__ == "__main__":
    main()
