"""The image, as far as a machine without a docker daemon can build it: the Dockerfile read instruction by
instruction and carried out here, so that the image and the install the tests run cannot drift. Its pip RUN lines
run in a fresh venv (`pip` is that venv's), with TORCH_INDEX empty: PyTorch's index cannot be reached here, so
PyPI's wheels, the Dockerfile's documented other path. Its COPY lines copy the build context (the working copy's
files less .dockerignore's) into a folder that stands for the image's file system, its ENV is the app's
environment, and its CMD runs there until its HEALTHCHECK passes. Its apt line and its user are read, not run (they
need root and change the machine): the apt packages must be ones .ci/run installs, the user's uid 1000."""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.server import ROOT, free_port

DOCKERFILE = ROOT / "Dockerfile"
BUILD_ARGS = {"TORCH_INDEX": ""}   # docker build --build-arg TORCH_INDEX= .
INSTALL_TIMEOUT_S = 1200
HEALTHY_TIMEOUT_S = 300            # the HEALTHCHECK's start period, and more on a busy machine


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments) in order: lines continued with a backslash joined, comments left out."""
    found, pending = [], ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        keyword, _, rest = pending.partition(" ")
        found.append((keyword.upper(), rest.strip()))
        pending = ""
    return found


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's `patterns` leave `path` out of the build context, as docker reads them: a pattern
    names a path from the context's root, one component at a time (`*` stays within one), or at any depth after
    `**/`; a folder that matches takes everything in it along."""
    parts = path.split("/")
    for pattern in patterns:
        want = pattern.removeprefix("**/").split("/")
        starts = range(len(parts)) if pattern.startswith("**/") else [0]
        if any(len(parts) - s >= len(want) and all(map(fnmatch.fnmatchcase, parts[s:], want)) for s in starts):
            return True
    return False


def build_context() -> list[str]:
    """The files `docker build .` sends from this working copy: every file git sees (tracked, or new and not
    ignored by .gitignore), less those .dockerignore leaves out."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip().strip("/") for p in lines if p.strip() and not p.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "ignored() reads no exceptions"
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.split("\0")
    return [f for f in listed if f and (ROOT / f).is_file() and not ignored(f, patterns)]


def ci_packages() -> set[str]:
    """The Debian packages .ci/run installs."""
    return set(re.findall(r'missing="\$missing ([\w.+-]+)"', (ROOT / ".ci" / "run").read_text()))


class Image:
    """The Dockerfile carried out in `root`, a folder standing for the image's file system, with the venv `venv`
    as its Python."""

    def __init__(self, root: Path, venv: Path):
        self.root, self.venv = root, venv
        self.args: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.workdir = root
        self.user = self.created_user = ""
        self.healthcheck: list[str] = []
        self.took: list[str] = []   # each pip line's time, for the test's report
        self.cmd: list[str] = []
        self.context = build_context()

    def inside(self, path: str) -> Path:
        """The image's absolute `path`, or `path` from the current WORKDIR, here."""
        return self.root / path.lstrip("/") if path.startswith("/") else self.workdir / path

    def shell_env(self) -> dict[str, str]:
        """What a RUN line sees: this machine's environment (its pip configuration, its proxies) with the venv's
        Python first on PATH, then the build's ARG and ENV values, paths among them in the image."""
        ours = {k: str(self.inside(v)) if v.startswith("/") else v for k, v in (self.args | self.env).items()}
        return os.environ | {"PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}"} | ours

    def carry_out(self, keyword: str, rest: str) -> None:
        step = getattr(self, f"do_{keyword.lower()}", None)
        assert step, f"{keyword} {rest}: an instruction this test does not know; say here how it is carried out"
        step(rest)

    def do_from(self, image: str) -> None:
        version = re.match(r"python:(\d+)\.(\d+)-", image)
        assert version and tuple(map(int, version.groups())) == sys.version_info[:2], (image, sys.version)

    def do_arg(self, rest: str) -> None:
        name, _, default = rest.partition("=")
        self.args[name] = BUILD_ARGS.get(name, default)

    def do_env(self, rest: str) -> None:
        self.env.update(pair.split("=", 1) for pair in shlex.split(rest))

    def do_workdir(self, rest: str) -> None:
        self.workdir = self.inside(rest)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def do_copy(self, rest: str) -> None:
        *sources, dest = [word for word in shlex.split(rest) if not word.startswith("--")]
        for source in sources:
            files = [f for f in self.context if source == "." or f == source]
            assert files, f"COPY {source}: not in the build context"
            for f in files:
                target = self.inside(dest) / (f if source == "." else Path(f).name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / f, target)

    def do_run(self, command: str) -> None:
        program = command.split()[0]
        if program == "apt-get":
            installed = re.search(r"apt-get install ([^&]*)", command)[1].split()
            assert {p for p in installed if not p.startswith("-")} <= ci_packages(), command
        elif program == "useradd":
            assert re.search(r"--uid 1000\b", command), command   # as a Hugging Face Docker Space runs it
            self.created_user = re.search(r"useradd [^&]*?(\w+)\s*(&&|$)", command)[1]
        elif program == "pip":
            t0 = time.monotonic()
            done = subprocess.run(["/bin/sh", "-c", command], cwd=self.workdir, env=self.shell_env(),
                                  capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
            assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            self.took.append(f"{' '.join(command.split()[:5])} …: {time.monotonic() - t0:.0f} s")
        else:
            pytest.fail(f"RUN {command}: a step this test does not know; say here how it is checked")

    def do_user(self, rest: str) -> None:
        self.user = rest

    def do_expose(self, rest: str) -> None:
        assert rest == self.env["GLASSBOX_PORT"]

    def do_healthcheck(self, rest: str) -> None:
        self.healthcheck = json.loads(rest.split("CMD", 1)[1])

    def do_cmd(self, rest: str) -> None:
        self.cmd = json.loads(rest)


def healthy(image: Image, env: dict[str, str], app: subprocess.Popen) -> float:
    """Seconds until the HEALTHCHECK's command succeeds, as docker runs it in the container."""
    t0 = time.monotonic()
    while subprocess.run(image.healthcheck, env=env, capture_output=True, timeout=60).returncode != 0:
        assert app.poll() is None, "the app stopped before it was healthy"
        assert time.monotonic() - t0 < HEALTHY_TIMEOUT_S, "the app was not healthy in time"
        time.sleep(1)
    return time.monotonic() - t0


def test_the_dockerfile_installs_and_starts_the_app(tmp_path):
    venv, root = tmp_path / "venv", tmp_path / "image"
    try:
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        image = Image(root, venv)
        for keyword, rest in instructions(DOCKERFILE.read_text()):
            image.carry_out(keyword, rest)
        assert image.user == image.created_user and image.workdir.is_relative_to(image.inside("/home") / image.user)
        assert image.cmd == ["python", "app.py"] and image.env["GLASSBOX_HOST"] == "0.0.0.0"

        # The container's own /tmp (gradio's cache, the app's downloads): this machine's other servers keep theirs.
        env = image.shell_env() | {"GLASSBOX_PORT": str(free_port()), "GLASSBOX_OFFLINE": "1",
                                   "TMPDIR": str(image.inside("/tmp"))}
        image.inside("/tmp").mkdir()
        with (tmp_path / "app.log").open("w") as log:
            app = subprocess.Popen(image.cmd, cwd=image.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            ready = healthy(image, env, app)
        except AssertionError:
            app.kill()
            raise AssertionError((tmp_path / "app.log").read_text()[-4000:]) from None
        app.terminate()
        app.wait(timeout=60)
        print(f"{'; '.join(image.took)}; start to healthy {ready:.0f} s; in all {time.monotonic() - t0:.0f} s")
    finally:
        shutil.rmtree(venv, ignore_errors=True)   # ~6 GB, and pytest keeps its temporary folders
        shutil.rmtree(root, ignore_errors=True)
