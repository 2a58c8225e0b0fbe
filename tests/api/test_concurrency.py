"""Several people at once: concurrent calls on one server give each caller exactly the answer it would get alone.
Grad-CAM registers hooks and feature extraction shares one model per process, so a missing lock would show here
as one caller's heatmap or feature ranking in another caller's answer."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

from core.data import CLASSES, load_sample

CALLERS = 6


def first_of_each_class(folder) -> list:
    s = load_sample("test")
    paths = []
    for c in range(len(CLASSES)):
        path = folder / f"class{c}.png"
        Image.fromarray(s.images[int(np.flatnonzero(s.labels == c)[0])]).save(path)
        paths.append(path)
    return paths


def requests(paths) -> list[tuple[str, dict]]:
    """A mix of the hook-using and model-sharing endpoints, each on a different image."""
    out = []
    for i, path in enumerate(paths[:CALLERS]):
        name = ("conv_gradcam", "conv_features", "conv_predict")[i % 3]
        out.append((name, {"image": handle_file(str(path)), "model": "cnn"}))
    return out


def essentials(name: str, r: dict) -> tuple[int | list, np.ndarray]:
    """The answer's discrete part (class or ranking) and its numbers."""
    if name == "conv_gradcam":
        return r["target"], np.array(r["heatmap"])
    if name == "conv_features":
        return r["channel_order"], np.array(r["channel_means"])
    return r["predicted"], np.array(r["probabilities"])


def same(a, b) -> bool:
    """Equal up to float rounding: thread scheduling may change the order of a reduction, never the answer."""
    return a[0] == b[0] and a[1].shape == b[1].shape and np.allclose(a[1], b[1], atol=1e-5)


def test_concurrent_callers_get_their_own_answers(server_url, tmp_path):
    calls = requests(first_of_each_class(tmp_path))
    alone = [essentials(name, Client(server_url, verbose=False).predict(api_name=f"/{name}", **kw))
             for name, kw in calls]
    clients = [Client(server_url, verbose=False) for _ in calls]  # one session per person

    def run(i):
        name, kw = calls[i]
        return essentials(name, clients[i].predict(api_name=f"/{name}", **kw))

    for _ in range(2):  # twice, so that calls overlap in more than one order
        with ThreadPoolExecutor(len(calls)) as pool:
            together = list(pool.map(run, range(len(calls))))
        assert all(same(t, a) for t, a in zip(together, alone, strict=True))
    # The answers differ between images, so a swapped answer could not pass unnoticed.
    assert not any(same(alone[i], alone[j]) for i in range(len(alone)) for j in range(i))
