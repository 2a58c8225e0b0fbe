"""Nothing left behind: the app's download folders are pruned by age, and gradio's own cache cleanup
(delete_cache) is set from GLASSBOX_CLEANUP_AGE."""
import asyncio
import concurrent.futures
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import app
from benchmarks.server import App
from explorers import common


@pytest.fixture
def downloads(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "DOWNLOADS", tmp_path)
    return tmp_path


def test_pruning_removes_old_downloads_and_keeps_young_ones(downloads):
    now = time.time()
    made = {}
    for folder in common.DOWNLOAD_FOLDERS:
        for name, age in (("old.gif", 7200), ("edge.png", 3590), ("young.gif", 10)):
            path = downloads / folder / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"x")
            os.utime(path, (now - age, now - age))
            made[path] = age
    stranger = downloads / "someone-else" / "old.gif"   # not the app's: never touched
    stranger.parent.mkdir()
    stranger.write_bytes(b"x")
    os.utime(stranger, (now - 7200, now - 7200))

    assert common.prune_downloads(3600, now=now) == len(common.DOWNLOAD_FOLDERS)
    assert {p for p in made if p.exists()} == {p for p, age in made.items() if age < 3600}
    assert stranger.exists()


def test_a_download_saved_again_counts_its_age_from_then(downloads):
    path = common.saved_download("glassbox-vae", "strip.png", b"first")
    long_ago = time.time() - 7200
    os.utime(path, (long_ago, long_ago))
    assert common.saved_download("glassbox-vae", "strip.png", b"first") == path
    assert common.prune_downloads(3600) == 0
    assert Path(path).read_bytes() == b"first"


def test_the_server_lifespan_prunes_on_its_schedule(downloads, monkeypatch):
    path = downloads / "glassbox-gan" / "run.safetensors"
    path.parent.mkdir()
    path.write_bytes(b"x")
    os.utime(path, (time.time() - 100, time.time() - 100))
    pruned, prune = threading.Event(), common.prune_downloads
    monkeypatch.setattr(common, "prune_downloads", lambda age: (prune(age), pruned.set()))

    async def serve():
        async with common.downloads_pruned(0.01, 50)(None):
            return await asyncio.to_thread(pruned.wait, 60)
    # in a thread of its own: the browser tests leave playwright's event loop running in this one, where
    # asyncio.run refuses
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, serve()).result()
    assert not path.exists()


def test_the_blocks_is_built_with_delete_cache_from_the_setting(monkeypatch):
    monkeypatch.setenv("GLASSBOX_CLEANUP_AGE", "45")
    assert app.build().delete_cache == (45, 45)
    monkeypatch.setenv("GLASSBOX_CLEANUP_AGE", "7200")
    assert app.cleanup() == (60, 7200)
    monkeypatch.delenv("GLASSBOX_CLEANUP_AGE")
    assert app.cleanup() == (60, 3600)


def test_a_stopped_server_leaves_no_log_behind(tmp_path):
    log = tmp_path / "glassbox-app-x.log"
    log.write_text("started")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = App(proc, "http://127.0.0.1:1", 0.0, str(log))
    server.stop()
    server.stop()   # a second stop (a test's own, then its fixture's) is harmless
    assert proc.returncode is not None
    assert not log.exists()
