"""Start `python app.py` on a free port as a person would, and read its memory. Shared by the benchmarks, the
api/browser test fixtures and deploy/'s replicas, so that all of them measure, test and run the same launch."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The server is local: never through a proxy (urlopen's shared opener keeps whatever proxy the environment named
# when it was first used, and a test that points one at a dead socket would leave it behind).
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def answers(url: str) -> bool:
    try:
        with LOCAL.open(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def rss_mb(pid: int) -> float | None:
    """Resident memory of process `pid` now (Linux /proc), or None where that cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _parent(stat: Path) -> int | None:
    """The parent's pid from a /proc/PID/stat file; None for a process gone meanwhile. The command's name, field 2,
    is in parentheses and may hold spaces, so the fields are counted from its closing one."""
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class App:
    proc: subprocess.Popen
    url: str
    cold_start_s: float  # process start to the first HTTP 200
    log_path: str

    def rss_mb(self) -> float | None:
        """Resident memory of the server process now (Linux /proc), or None where that cannot be read."""
        return rss_mb(self.proc.pid)

    def workers_rss_mb(self) -> float | None:
        """Resident memory of the server's child processes now, together (the GAN tab's 2-D runs train in worker
        processes, core.workers, which the server's own figure leaves out); None where /proc cannot be read."""
        try:
            children = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
                        if _parent(stat) == self.proc.pid]
        except OSError:
            return None
        return sum(filter(None, map(rss_mb, children)), 0.0)

    def stop(self) -> None:
        """Stop the server and remove its log (each test session and benchmark starts one: hundreds of logs piled
        up in the temporary folder)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        Path(self.log_path).unlink(missing_ok=True)


def start_app(timeout_s: float = 120, env: dict | None = None, port: int | None = None, offline: bool = True) -> App:
    """`python app.py --port N` (a free port unless `port` is given), offline unless `offline` is False (the
    environment decides then); returns once it answers HTTP 200, or raises with the end of its log."""
    port = port or free_port()
    # not a with-block: the app writes to this log for as long as it runs, after start_app returns
    log = tempfile.NamedTemporaryFile("w+", prefix="glassbox-app-", suffix=".log", delete=False)  # noqa: SIM115
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT,
                            env=os.environ | ({"GLASSBOX_OFFLINE": "1"} if offline else {}) | (env or {}))
    url = f"http://127.0.0.1:{port}"
    while not answers(url):
        if proc.poll() is not None or time.monotonic() - t0 > timeout_s:
            proc.kill()
            log.seek(0)
            raise RuntimeError(f"app.py did not answer on {url} within {timeout_s:.0f} s; its log:\n"
                               f"{log.read()[-4000:]}")
        time.sleep(0.1)
    return App(proc, url, time.monotonic() - t0, log.name)
