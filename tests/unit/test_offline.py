"""Each of GLASSBOX_OFFLINE, HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE forbids every download, and the message names
the one that was set. Proved by counting connection attempts: every HTTP(S) client is pointed at a proxy socket
this test listens on, and every socket connect and host-name lookup of the process is recorded (and refused unless
it is for the proxy), which also catches a client that ignores the proxy settings or read them before the test set
them (urllib builds its opener once); asking for every downloadable model must make no attempt."""
import http.server
import socket
import threading
import time

import pytest

from core import data, hub, offline, registry
from core.attention import image as ia
from core.attention import text as ta
from core.convolution import vision_models


class Proxy:
    """A listening socket that counts the connections made to it and closes each at once, so a client that got
    through fails fast instead of waiting for an answer."""

    def __init__(self):
        self.attempts = []  # every address any socket of the process tried to connect to, or host it looked up
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.connections += 1
            conn.close()


@pytest.fixture
def proxy(monkeypatch, tmp_path):
    """Every HTTP(S) client of this process pointed at a Proxy, and empty model caches."""
    proxy = Proxy()
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy.url)
    for name in ("NO_PROXY", "no_proxy", *offline.VARIABLES):
        monkeypatch.delenv(name, raising=False)
    connect = socket.socket.connect
    address = proxy.listener.getsockname()

    def recorded(sock, addr):
        proxy.attempts.append(addr)
        if addr != address:  # never reach out of this machine, whatever the client
            raise ConnectionRefusedError(f"test_offline refuses connections to {addr}")
        return connect(sock, addr)
    monkeypatch.setattr(socket.socket, "connect", recorded)
    lookup = socket.getaddrinfo

    def looked_up(host, *args, **kwargs):  # a client without the proxy resolves the host name before connecting
        if host not in ("127.0.0.1", "localhost"):
            proxy.attempts.append(host)
            raise socket.gaierror(f"test_offline refuses to look up {host}")
        return lookup(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", looked_up)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "fashion")
    monkeypatch.setattr(hub, "_reach", {})  # the Hub's reachability is asked afresh, through the proxy
    for cache in (vision_models.clear_cache, ia.clear_cache, ta.clear_cache):
        cache()
    yield proxy
    proxy.listener.close()
    for cache in (vision_models.clear_cache, ia.clear_cache, ta.clear_cache):
        cache()


@pytest.mark.parametrize("variable", offline.VARIABLES)
def test_each_offline_variable_forbids_every_download(proxy, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    assert offline.forbidden_by() == f"{variable}=1"
    for name in vision_models.TORCHVISION:
        with pytest.raises(registry.ModelUnavailable, match=f"{variable}=1 forbids downloading"):
            vision_models.load(name)
    with pytest.raises(registry.ModelUnavailable, match=f"{variable}=1 forbids downloading"):
        ia.load(ia.TORCHVISION_VIT)
    with pytest.raises(registry.ModelUnavailable, match=f"{variable}=1 forbids downloading"):
        ta.load("glassbox-tests/not-in-any-cache")
    assert data._from_torchvision("train") is None
    assert proxy.attempts == [] and proxy.connections == 0


def test_the_proxy_sees_a_download_that_is_allowed(proxy):
    """The check above could not fail if no attempt were ever seen: without an offline variable, asking for
    resnet18 does try to connect (through the proxy, or directly, and fails either way)."""
    with pytest.raises(registry.ModelUnavailable, match="could not be downloaded"):
        vision_models.load("resnet18")
    assert len(proxy.attempts) >= 1


def test_offline_values():
    for value, forbidden in (("1", True), ("true", True), ("ON", True), ("0", False), ("", False), ("no", False)):
        with pytest.MonkeyPatch.context() as m:
            for name in offline.VARIABLES:
                m.delenv(name, raising=False)
            m.setenv("HF_HUB_OFFLINE", value)
            assert bool(offline.forbidden_by()) is forbidden, value


def test_an_unreachable_hub_falls_back_at_once_without_any_offline_variable(proxy):
    """No offline variable and no internet (the proxy hangs up on every connection): one probing request, then
    every text model id falls back to the cache at once, instead of huggingface_hub's ~24 s of retries."""
    start = time.monotonic()
    for model_id in ("glassbox-tests/not-in-any-cache", "glassbox-tests/not-cached-either"):
        with pytest.raises(registry.ModelUnavailable, match="the Hugging Face Hub cannot be reached"):
            ta.load(model_id)
    took = time.monotonic() - start
    print(f"two unreachable ids fell back in {took:.2f} s")
    assert took < hub.REACH_TIMEOUT + 3
    assert len(proxy.attempts) == 1  # the probe, remembered for the second id


class Answer404(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_hub_that_answers_is_reachable_even_with_an_error_status(monkeypatch):
    from huggingface_hub import constants
    server = http.server.HTTPServer(("127.0.0.1", 0), Answer404)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy",
                 *offline.VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub, "_reach", {})
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        assert hub.reachable() and not hub.local_only()
        monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
        assert hub.local_only()  # a setting forbids downloads, whatever the Hub says
    finally:
        server.shutdown()
        server.server_close()
