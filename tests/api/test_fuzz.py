"""Property-based fuzzing of every gr.api endpoint, found from the app's own API info, so a new tab's endpoints
are fuzzed without editing this file.

Each endpoint gets GLASSBOX_FUZZ_EXAMPLES (default 30) seeded examples. Arguments are drawn per parameter from
strategies a hostile or careless caller would send: extreme and overflowing floats, huge integers, NaN and inf
as raw JSON tokens, empty, long, unicode and surrogate text, wrong types, nested lists, unknown choices, and for
images a real upload, a broken file, a server-side path or garbage. Every answer must be either a result whose
numbers are all finite, or a clear error: not the generic internal-error text, without a server path, short.
After every example a known-good call must still be answered."""
import json
import math
import re

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from PIL import Image

from core import settings as glassbox_settings  # hypothesis has a `settings` too

EXAMPLES = glassbox_settings.FUZZ_EXAMPLES.get()
MAX_MESSAGE = 400      # characters: a message for a person, not a dump
GENERIC = "Internal error in"
SERVER_PATH = re.compile(r"/(tmp|root|home|usr|var|work)/[\w./-]+")


@pytest.fixture(scope="module")
def info(server_url):
    return httpx.get(f"{server_url}/gradio_api/info", timeout=30).json()["named_endpoints"]


@pytest.fixture(scope="module")
def uploads(server_url, tmp_path_factory):
    """Server-side FileData dicts: a real Fashion-MNIST-sized picture, a photo, an empty file and a broken PNG."""
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / "small.png")
    Image.fromarray(rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)).save(folder / "photo.jpg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "broken.png").write_bytes((folder / "small.png").read_bytes()[:40])
    files = {}
    for path in sorted(folder.iterdir()):
        with open(path, "rb") as f:
            uploaded = httpx.post(f"{server_url}/gradio_api/upload", files={"files": f}, timeout=30).json()[0]
        files[path.stem] = {"path": uploaded, "meta": {"_type": "gradio.FileData"}}
    return files


def junk():
    """Any JSON value, weighted towards what breaks numeric code."""
    numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e39, -1e39, 3.5e38,
                        1e308, 5e-324, -0.0, 2**63, -(2**63) - 1]), st.integers(min_value=-(10**400),
                        max_value=10**400), st.integers(-3, 70))
    text = st.one_of(st.text(max_size=30), st.sampled_from(["", " ", "\ud800", "a\x00b", "x" * 20_000, "é🙂",
                     "../../etc/passwd", "default", "cnn", "vit", "NaN", "1/0", "-1"]))
    scalars = st.one_of(st.none(), st.booleans(), numbers, text)
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                         st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                        max_leaves=12)


def numeric_matrix():
    """Small matrices (kernels, inputs) with any cells, or with cells float32 holds but whose sums it does not."""
    cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**40), 10**40))
    huge = st.sampled_from([3e38, -3e38, 1e38, 1e30])
    return st.integers(1, 4).flatmap(lambda w: st.lists(st.lists(st.one_of(cell, huge), min_size=w, max_size=w)
                                                        | st.lists(huge, min_size=w, max_size=w),
                                                        min_size=1, max_size=4))


def is_image(param: dict) -> bool:
    return "FileData" in json.dumps(param.get("type") or {}) or param["python_type"]["type"].startswith("filepath")


def baseline(param: dict, uploads: dict):
    """A value the endpoint accepts: the parameter's default, else a plain value of its type."""
    if is_image(param):
        return uploads["small"]
    if param["parameter_has_default"]:
        return param["parameter_default"]
    return {"integer": 0, "number": 1.0, "boolean": False, "string": "The cat sat on the mat",
            "array": [[1.0, 2.0], [3.0, 4.0]]}.get((param.get("type") or {}).get("type"), 0)


def bad(param: dict, uploads: dict):
    """What a careless or hostile caller sends for one parameter: odd values of its type, often junk."""
    if is_image(param):
        return st.one_of(st.sampled_from(list(uploads.values())), st.just(None),
                         st.just({"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}), junk())
    typed = {"integer": st.one_of(st.integers(-5, 70), st.integers(-(10**30), 10**30)),
             "number": st.one_of(st.floats(-10, 10), st.floats(allow_nan=True, allow_infinity=True)),
             "boolean": st.booleans(), "string": st.text(max_size=40),
             "array": st.one_of(numeric_matrix(), st.lists(st.floats(allow_nan=True), max_size=6))}
    kind = (param.get("type") or {}).get("type")
    return st.one_of(typed[kind], junk()) if kind in typed else junk()


def arguments(params: list[dict], uploads: dict):
    """Mostly one bad parameter among accepted ones (so the bad value reaches the code behind the checks of the
    others), sometimes all of them bad, sometimes too few or too many values."""
    good = [baseline(p, uploads) for p in params]
    one_bad = st.integers(0, max(0, len(params) - 1)).flatmap(
        lambda i: bad(params[i], uploads).map(lambda v: [*good[:i], v, *good[i + 1:]]))
    all_bad = st.tuples(*(bad(p, uploads) for p in params)).map(list)
    wrong_count = st.tuples(st.integers(0, len(params) + 2), junk()).map(
        lambda t: [*good[:t[0]], *[t[1]] * (t[0] - len(good))])
    return st.one_of(one_bad, one_bad, one_bad, all_bad, wrong_count) if params else st.just([])


def post(server_url: str, name: str, data: list) -> str:
    """One raw call; json.dumps writes NaN and inf as the bare tokens any HTTP caller can send."""
    body = json.dumps({"data": data}, allow_nan=True)
    r = httpx.post(f"{server_url}/gradio_api/call/{name}", content=body.encode(),
                   headers={"Content-Type": "application/json"}, timeout=120)
    if r.status_code != 200:  # refused before the queue: the whole reply, so its length is checked too
        return f"event: error\ndata: HTTP {r.status_code} {r.text}"
    return httpx.get(f"{server_url}/gradio_api/call/{name}/{r.json()['event_id']}", timeout=300).text


NULLABLE = {"/attention_scores": {"scores"}}  # masked scores are null by design


def finite_numbers(value, where: str, nullable: set = frozenset()):
    """No NaN or inf anywhere, and no null among numbers (gradio writes NaN and inf into JSON as null)."""
    if isinstance(value, float):
        assert math.isfinite(value), f"{where} is {value}"
    elif isinstance(value, dict):
        for k, v in value.items():
            finite_numbers(v, f"{where}.{k}", {"*"} if k in nullable or "*" in nullable else set())
    elif isinstance(value, list):
        numbers = any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        for i, v in enumerate(value):
            assert not (v is None and numbers and "*" not in nullable), f"{where}[{i}] is null among numbers"
            finite_numbers(v, f"{where}[{i}]", nullable)


# Results whose docs promise lists of one length: one x, one d_star, however x was sent.
SAME_LENGTH = {"/gan_d_star": ("x", "d_star")}


def check_answer(name: str, stream: str) -> None:
    if "event: complete" in stream:
        data = stream.split("event: complete", 1)[1].split("data:", 1)[1].strip()
        result = json.loads(data.splitlines()[0])  # json.loads reads NaN tokens, so they are seen too
        finite_numbers(result, name, NULLABLE.get(name, set()))
        keys = SAME_LENGTH.get(name, ())
        answer = result[0] if keys else None  # the stream's data is [result]
        assert all(isinstance(answer[k], list) for k in keys), f"{name}: {keys} are not all lists: {answer}"
        assert len({len(answer[k]) for k in keys}) <= 1, f"{name}: {keys} differ in length"
        for key in ("min", "max", "mean", "value", "entropy"):  # numbers that exist in every answer that has them
            assert not (isinstance(result, list) and result and isinstance(result[0], dict)
                        and key in result[0] and result[0][key] is None), f"{name}: {key} is null"
        return
    assert "event: error" in stream, f"{name}: neither a result nor an error:\n{stream[:500]}"
    message = stream.split("event: error", 1)[1]
    assert GENERIC not in message, f"{name}: generic error {message[:300]}"
    if "could not compute a finite result" in message:  # the guard names the inputs to bring nearer 1
        assert "farthest from 1 in size were" in message and "none far from 1" not in message, message[:300]
    assert len(message) <= MAX_MESSAGE, f"{name}: a {len(message):,}-character message: {message[:200]}..."
    # /etc/hostname is the path the fuzzer itself sends, which gradio's refusal repeats.
    assert not SERVER_PATH.search(message.replace("/etc/hostname", "")), f"{name}: a server path in {message}"


def known_good(server_url: str) -> None:
    stream = post(server_url, "conv_pool", [[[1, 2], [3, 4]], "max", 2, 2])
    assert "event: complete" in stream and "[[4.0]]" in stream, f"the server stopped answering: {stream[:300]}"


KNOWN = ("/conv_arithmetic", "/conv_pool", "/conv_kernel", "/conv_layers", "/conv_features", "/conv_predict",
         "/conv_draw", "/conv_gradcam", "/attention_text", "/attention_scores", "/attention_image", "/vae_encode",
         "/vae_interpolate", "/vae_decode", "/vae_decode_point", "/vae_kl", "/vae_latent_map", "/gan_d_star",
         "/gan_train_2d", "/gan_2d_frames", "/gan_train_images", "/diffusion_schedule", "/diffusion_forward",
         "/diffusion_sample", "/diffusion_toy", "/lm_next", "/lm_generate", "/lm_logit_lens", "/lm_heads")
# Accepted values that keep an example cheap, in place of a default that trains for seconds: the fuzzer's other
# parameters are then checked in a fraction of the time (the bad values it draws for these still reach the code).
CHEAP = {"/diffusion_toy": {"seconds": 0.2, "particles": 50, "steps": 10}, "/diffusion_sample": {"steps": 5},
         "/lm_generate": {"steps": 5}}
OTHERS = "every other endpoint the server reports"


def test_the_known_endpoints_are_served(info):
    assert set(KNOWN) <= set(info)


def fuzz_endpoint(name: str, info: dict, uploads: dict, server_url: str) -> None:
    cheap = CHEAP.get(name, {})
    params = [dict(p, parameter_default=cheap[p["parameter_name"]]) if p["parameter_name"] in cheap else p
              for p in info[name]["parameters"]]

    @seed(sum(map(ord, name)))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(arguments(params, uploads))
    def fuzz(args):
        check_answer(name, post(server_url, name.lstrip("/"), args))
        known_good(server_url)

    fuzz()


@pytest.mark.parametrize("endpoint", [*KNOWN, OTHERS])
def test_fuzz(endpoint, info, uploads, server_url):
    """One test per endpoint known today, and one for any the server reports beyond them (a new tab's)."""
    names = [endpoint] if endpoint != OTHERS else sorted(set(info) - set(KNOWN))
    for name in names:
        fuzz_endpoint(name, info, uploads, server_url)


@pytest.mark.parametrize("route", ["run", "api"])
def test_no_endpoint_runs_outside_the_queue(route, info, uploads, server_url):
    """gradio's non-queued routes answer every endpoint, with accepted arguments, by naming the queued route."""
    for name, endpoint in sorted(info.items()):
        good = [baseline(p, uploads) for p in endpoint["parameters"]]
        r = httpx.post(f"{server_url}/gradio_api/{route}{name}", json={"data": good}, timeout=30)
        assert r.status_code == 404 and f"/gradio_api/call{name}" in r.text, f"{name}: {r.status_code} {r.text}"
