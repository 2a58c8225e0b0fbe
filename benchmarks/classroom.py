"""`python -m benchmarks.classroom [--students N] [--seconds S] [--replicas R]`: a class at work on one server. Each
student is a thread with a page of its own (the X-Glassbox-Page header explorers.fairness counts by) that, for S
seconds, picks one of the benchmark's endpoint calls at random (seeded per student: benchmarks.__main__'s cases, plus
a DDIM-20 sample, the next-token view and the D* playground) and makes it through gradio's REST route as the page's
widgets do (images uploaded first, the result stream read to its end), then thinks 1–3 s. Run for 5 students, then
for the class (20 by default), each on a fresh server warmed by one call of each action (the teacher's walk through
the tabs before the lesson: models load on first use). Reported per run: calls, errors (with the first few), and per
endpoint the round trip's median and p95; written to benchmarks/classroom.md. With `--replicas R`, the class then
works through HAProxy to R fresh replicas (deploy.Deployment, as `python -m deploy` runs them, each replica warmed),
in the same run as on one replica alone. Figures are a report, never a test assertion.
"""
from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks.__main__ import Case, cases, http_call, prepare_inputs
from benchmarks.runner import options, run_on_app

THINK_S = (1.0, 3.0)  # a student's pause between two actions
FEW = 5
REPORT = Path(__file__).with_name("classroom.md")


def actions(paths: dict[str, Path]) -> list[Case]:
    """What a student's clicks call: the benchmark's cases (resnet18's need a download, so they are left out) and
    the calls behind the Diffusion, GPT and D* views."""
    from explorers.attention import language_api
    from explorers.diffusion import endpoints as diffusion
    from explorers.gan import endpoints as gan
    return [
        *(c for c in cases(paths) if "resnet18" not in c.name),
        Case("diffusion_sample, DDIM-20, one frame", "diffusion_sample",
             {"label": 7, "steps": 20, "record_every": 20}, diffusion.diffusion_sample),
        Case("lm_next, default GPT", "lm_next", {"text": "In the beginning God created"}, language_api.lm_next),
        Case("gan_d_star", "gan_d_star", {"mu_g": 0.5}, gan.gan_d_star),
    ]


def student(url: str, number: int, todo: list[Case], until: float, times: dict, errors: list) -> None:
    rng = random.Random(number)
    # a page id of glassbox.js's form (explorers.fairness.PAGE_ID): "student-N" named no page, so the whole class
    # shared one address's cap of 16 requests
    headers = {"x-glassbox-page": f"{number:08x}-{rng.getrandbits(64):016x}"}
    with httpx.Client(timeout=300, headers=headers) as http:
        while time.monotonic() < until:
            case = rng.choice(todo)
            t0 = time.perf_counter()
            try:
                http_call(http, url, case, case.call_kwargs(case.kwargs))
                times[case.api_name].append(time.perf_counter() - t0)
            except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as error:
                errors.append(f"{case.api_name}: {str(error)[:160]}")
            time.sleep(rng.uniform(*THINK_S))


def walk_through(url: str, todo: list[Case]) -> None:
    """The teacher's walk through the tabs on the server at `url`: each action called once."""
    with httpx.Client(timeout=300) as http:
        for case in todo:
            http_call(http, url, case, case.kwargs)


def lesson(url: str, students: int, seconds: float, warm: list[str] | None = None) -> dict:
    """`students` at work for `seconds` on the server at `url`, once every action has been called on each server
    in `warm` (by default the one at `url`; behind a balancer, each replica at its own address, as one client
    sticks to one replica)."""
    with tempfile.TemporaryDirectory() as folder:
        todo = actions(prepare_inputs(Path(folder)))
        servers = warm or [url]
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(walk_through, servers, [todo] * len(servers)))
        times: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=student, args=(url, n, todo, until, times, errors), daemon=True)
                   for n in range(students)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    per = {}
    for name, seconds_each in sorted(times.items()):
        ms = sorted(s * 1e3 for s in seconds_each)
        per[name] = {"calls": len(ms), "median_ms": round(statistics.median(ms)),
                     "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))])}
    return {"students": students, "seconds": seconds, "calls": sum(len(t) for t in times.values()),
            "errors": len(errors), "first_errors": errors[:5], "per_endpoint": per}


def balanced(students: int, seconds: float, replicas: int) -> dict:
    """The class through HAProxy to `replicas` fresh servers (deploy.Deployment, as `python -m deploy` runs them)."""
    from deploy import Deployment
    with Deployment(replicas, offline=True) as deployment:
        result = lesson(deployment.url, students, seconds, warm=[app.url for app in deployment.replicas.values()])
    return result | {"replicas": replicas}


def measure(students: int, seconds: float, replicas: int = 0) -> dict:
    """A few students, then the class, each on a fresh server; with `replicas`, then the class through the
    balancer to that many."""
    result = {"few": run_on_app(lambda url: lesson(url, FEW, seconds)),
              "class": run_on_app(lambda url: lesson(url, students, seconds))}
    if replicas:
        result["balanced"] = balanced(students, seconds, replicas)
    return result


def compared(run: dict, other: dict) -> list[str]:
    """Per endpoint of `run`, its median / p95 ms against `other`'s, and `run`'s first errors."""
    lines = []
    for name, c in run["per_endpoint"].items():
        o = other["per_endpoint"].get(name)
        against = f"{o['median_ms']} / {o['p95_ms']}" if o else "not called"
        lines.append(f"  - {name}: **{c['median_ms']} / {c['p95_ms']}** ({c['calls']} calls) against {against}")
    if run["first_errors"]:
        lines.append(f"  - first errors: {'; '.join(run['first_errors'])}")
    return lines


def markdown_lines(r: dict) -> list[str]:
    few, full = r["few"], r["class"]
    lines = [f"- classroom: {full['students']} students for {full['seconds']:.0f} s made {full['calls']:,} calls with "
             f"**{full['errors']} errors** ({few['students']} students: {few['calls']:,} calls, {few['errors']} "
             f"errors); per endpoint, median / p95 ms with {full['students']} against {few['students']}:",
             *compared(full, few)]
    if "balanced" in r:
        b = r["balanced"]
        lines += [f"- the same class through HAProxy to {b['replicas']} replicas (`python -m deploy`): {b['calls']:,} "
                  f"calls with **{b['errors']} errors**, against {full['calls']:,} on one replica alone; per "
                  "endpoint, median / p95 ms through the balancer against one replica alone:", *compared(b, full)]
    return lines


def main(argv=None) -> dict:
    args = options("classroom", __doc__, argv, students=(int, 20, "the class's size"),
                   seconds=(float, 180.0, "how long each lesson lasts"),
                   replicas=(int, 0, "then the class through HAProxy to this many replicas (python -m deploy; "
                                     "needs haproxy), against one replica alone"))
    result = measure(args.students, args.seconds, args.replicas)
    report = "\n".join(markdown_lines(result))
    print(report)
    REPORT.write_text(f"# Classroom load ({time.strftime('%Y-%m-%d')}, `python -m benchmarks.classroom`)\n\n{report}\n")
    return result


if __name__ == "__main__":
    main()
