"""`python -m benchmarks.fairness [--seconds S]`: while a script posts DDPM-1000 as fast as it can, through every
route, how long another client's conv_arithmetic waits.

The script (FLOODERS threads, one address and one session of its own) posts diffusion_sample with the DDPM
scheduler and 1,000 steps in a loop, never reading a result and never pausing: REST (POST /gradio_api/call/NAME
and /call/v2/NAME, from the address X-Forwarded-For names: uvicorn trusts that header from 127.0.0.1, as it would
from a proxy on the same machine), gradio's queue as a page or gradio_client joins it (POST /gradio_api/queue/join
with its session), and the non-queued /gradio_api/run/NAME. Meanwhile another client, from another address, calls
conv_arithmetic one call after another (POST, then its event stream read to `event: complete`) and each round trip
is timed; before the flood the same calls are timed on the idle server. Reported: the other client's round trips
(median, p95, max) idle and under the flood, its failures, and what the script's posts got, by route and status.
Figures are a report, never a test assertion.
"""
from __future__ import annotations

import collections
import statistics
import threading
import time

import httpx

from benchmarks.runner import options, run_on_app

DDPM_1000 = [1, 3.0, "ddpm", 1000, 0, 1000]  # label, guidance, scheduler, steps, seed, record_every (one frame)
ARITHMETIC = {"data": [[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, -1]]]}
SCRIPT = {"x-forwarded-for": "10.66.0.1"}
OTHER = {"x-forwarded-for": "10.77.0.1"}
FLOODERS = 2
IDLE_CALLS = 20


def arithmetic(http: httpx.Client, url: str) -> float:
    """One conv_arithmetic round trip from the other client, in seconds; raises if it does not complete."""
    t0 = time.perf_counter()
    reply = http.post(f"{url}/gradio_api/call/conv_arithmetic", json=ARITHMETIC, headers=OTHER)
    reply.raise_for_status()
    stream = http.get(f"{url}/gradio_api/call/conv_arithmetic/{reply.json()['event_id']}", headers=OTHER).text
    if "event: complete" not in stream:
        raise RuntimeError(f"conv_arithmetic did not complete: {stream[:200]}")
    return time.perf_counter() - t0


def ddpm_index(url: str) -> int:
    """diffusion_sample's event index, which /queue/join names it by."""
    dependencies = httpx.get(f"{url}/config", timeout=60).json()["dependencies"]
    return next(d["id"] for d in dependencies if d["api_name"] == "diffusion_sample")


def flood(url: str, until: float, got: collections.Counter) -> None:
    """Post DDPM-1000 through each route in turn until `until`; count (route, status) in `got`."""
    index = ddpm_index(url)
    posts = {
        "call": ("/gradio_api/call/diffusion_sample", {"data": DDPM_1000}),
        "call/v2": ("/gradio_api/call/v2/diffusion_sample",
                    dict(zip(("label", "guidance", "scheduler", "steps", "seed", "record_every"), DDPM_1000,
                             strict=True))),
        "queue/join": ("/gradio_api/queue/join", {"data": [*DDPM_1000, 0.0, False, 0.0, "default"],
                                                  "fn_index": index, "session_hash": "script-session"}),
        "run": ("/gradio_api/run/diffusion_sample", {"data": DDPM_1000}),
    }
    with httpx.Client(timeout=60, headers=SCRIPT) as http:
        while time.monotonic() < until:
            for route, (path, body) in posts.items():
                got[route, http.post(f"{url}{path}", json=body).status_code] += 1


def summary(seconds: list[float]) -> dict:
    ms = sorted(s * 1e3 for s in seconds)
    return {"calls": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1), "max_ms": round(ms[-1], 1)}


def measure(url: str, seconds: float = 60.0) -> dict:
    """The other client's conv_arithmetic idle (IDLE_CALLS after a warm-up), then for `seconds` under the flood."""
    with httpx.Client(timeout=120) as http:
        arithmetic(http, url)
        idle = [arithmetic(http, url) for _ in range(IDLE_CALLS)]
        got: collections.Counter = collections.Counter()
        until = time.monotonic() + seconds
        script = [threading.Thread(target=flood, args=(url, until, got), daemon=True) for _ in range(FLOODERS)]
        for thread in script:
            thread.start()
        loaded, failures = [], []
        while time.monotonic() < until:
            try:
                loaded.append(arithmetic(http, url))
            except (httpx.HTTPError, RuntimeError) as error:
                failures.append(str(error)[:200])
        for thread in script:
            thread.join()
    return {"seconds": seconds, "idle": summary(idle), "flooded": summary(loaded), "failures": failures,
            "script_posts": {f"{route} {status}": n for (route, status), n in sorted(got.items())}}


def markdown_lines(r: dict) -> list[str]:
    i, f = r["idle"], r["flooded"]
    posts = ", ".join(f"{k}: {n:,}" for k, n in r["script_posts"].items())
    return [f"- fairness: while a script posts DDPM-1000 as fast as it can through every route for {r['seconds']:.0f} "
            f"s, another client's conv_arithmetic round trip is **{f['median_ms']} ms** median, p95 {f['p95_ms']} "
            f"ms, **max {f['max_ms']} ms** ({f['calls']} calls, {len(r['failures'])} failed), against "
            f"{i['median_ms']} ms median, max {i['max_ms']} ms idle; the script's posts by route and HTTP status: "
            f"{posts}"]


def main(argv=None) -> dict:
    args = options("fairness", __doc__, argv, seconds=(float, 60.0, "how long the script floods"))
    return run_on_app(lambda url: measure(url, args.seconds), markdown_lines)


if __name__ == "__main__":
    main()
