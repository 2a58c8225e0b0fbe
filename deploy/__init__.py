"""N Glassbox replicas behind HAProxy on this machine: `python -m deploy` for a person (deploy/__main__.py), and
Deployment for the tests and benchmarks. Each replica is `python app.py` (benchmarks.server.start_app, the same launch
the tests use) on a port of its own on 127.0.0.1; HAProxy (deploy/haproxy.cfg, which says why each line is there)
listens on the address people open and keeps each visitor on one replica by a cookie."""
from __future__ import annotations

import contextlib
import csv
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.server import App, answers, free_port, start_app

CONFIG = Path(__file__).with_name("haproxy.cfg")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"   # Debian's is in /usr/sbin, off a person's PATH
BACKEND = "replicas"   # haproxy.cfg's backend
START_TIMEOUT_S = 300  # a replica imports torch and builds every tab: minutes on a busy machine


def free_ports(count: int) -> int:
    """A port P such that P, P+1 ... P+count are free on 127.0.0.1 (for the tests and benchmarks)."""
    while True:
        port = free_port()
        try:
            with contextlib.ExitStack() as held:
                for p in range(port + 1, port + count + 1):
                    held.enter_context(socket.socket()).bind(("127.0.0.1", p))
            return port
        except OSError:
            continue


class Deployment:
    """`replicas` app.py servers on ports port+1 ... port+replicas of 127.0.0.1 (free ones when `port` is None) and
    HAProxy on host:port in front of them; start() returns once every replica is in HAProxy's rotation and the
    balancer answers. A context manager: leaving it stops them all. `offline` as benchmarks.server.start_app's."""

    def __init__(self, replicas: int = 2, port: int | None = None, host: str = "127.0.0.1", offline: bool = False):
        self.count, self.host, self.offline = replicas, host, offline
        self.port = port or free_ports(replicas)
        self.url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="glassbox-deploy-"))
        self.socket = self.folder / "haproxy.sock"
        self.log_path = self.folder / "haproxy.log"
        self.replicas: dict[str, App] = {}
        self.haproxy: subprocess.Popen | None = None

    def __enter__(self) -> Deployment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start_replica(self, number: int) -> App:
        # Its own cache folder: gradio names a cached file by its content, so replicas would share paths, and each
        # deletes every file it cached when it stops. FORWARDED_ALLOW_IPS: uvicorn reads the visitor's address
        # from HAProxy's X-Forwarded-For, as HAProxy connects from 127.0.0.1. The replicas listen on 127.0.0.1 only:
        # people reach them through the balancer.
        env = {"GRADIO_TEMP_DIR": str(self.folder / f"r{number}"), "FORWARDED_ALLOW_IPS": "127.0.0.1",
               "GLASSBOX_HOST": "127.0.0.1"}
        return start_app(START_TIMEOUT_S, env=env, port=self.port + number, offline=self.offline)

    def start(self) -> None:
        # One after the other: gradio gives up on a start whose page it cannot fetch from itself within 3 s (its
        # launch's check of localhost), which two cold starts at once on a busy machine have made it do.
        for n in range(1, self.count + 1):
            self.replicas[f"r{n}"] = self.start_replica(n)
        config = self.folder / "haproxy.cfg"
        servers = "".join(f"    server {name} {app.url.removeprefix('http://')} cookie {name}\n"
                          for name, app in self.replicas.items())
        config.write_text(CONFIG.read_text() + servers)
        env = os.environ | {"BALANCER_BIND": f"{self.host}:{self.port}", "BALANCER_SOCKET": str(self.socket)}
        with self.log_path.open("w") as log:   # -db: in the foreground, stopped with this process
            self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        self.wait_until(lambda: set(self.states().values()) == {"UP"} and answers(f"{self.url}/healthz"),
                        START_TIMEOUT_S, "every replica in HAProxy's rotation")

    def states(self) -> dict[str, str]:
        """Each replica's state as HAProxy's checks see it ("UP", "DOWN", "UP 1/3" while going down ...)."""
        return {name: row["status"] for name, row in self.stat().items()}

    def stat(self) -> dict[str, dict[str, str]]:
        """HAProxy's figures for each replica (the columns of `show stat`: status, hrsp_2xx ...); {} while HAProxy
        has not opened its socket yet."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(self.socket))
                s.sendall(b"show stat\n")
                text = b"".join(iter(lambda: s.recv(65536), b"")).decode()
        except (FileNotFoundError, ConnectionRefusedError):
            return {}
        rows = csv.DictReader(text.removeprefix("# ").splitlines())
        return {r["svname"]: r for r in rows if r["pxname"] == BACKEND and r["svname"] in self.replicas}

    def wait_until(self, condition, timeout_s: float, what: str) -> None:
        """Poll `condition` until it holds; raise, with HAProxy's output, when HAProxy exits or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.haproxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no {what} within {timeout_s:.0f} s: HAProxy says {self.states()}; its output:\n"
                                   f"{self.log_path.read_text()[-4000:]}")
            time.sleep(0.2)

    def stop_replica(self, name: str) -> None:
        """Stop one replica (as a crash or a restart would) and wait until HAProxy has taken it out of rotation."""
        self.replicas[name].stop()
        self.wait_until(lambda: self.states().get(name, "").startswith("DOWN"), 60, f"{name} out of rotation")

    def stop(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=15)
        for app in self.replicas.values():
            app.stop()   # a replica that stopped by itself still leaves its log
        shutil.rmtree(self.folder, ignore_errors=True)
