"""core.registry: one build per model however many callers, a slow load holding up only its own model, failed
downloads remembered for a while, the fallback note, and the bound on loaded models."""
import threading

import pytest

from core import registry


def test_a_slow_load_holds_up_only_callers_of_the_same_model():
    started, release, builds = threading.Event(), threading.Event(), []

    def build(name):
        builds.append(name)
        if name == "slow":  # stands in for a long weights download
            started.set()
            assert release.wait(10)
        return f"model {name}"
    models = registry.Registry(build, "fast", ("fast", "slow"))
    slow = [threading.Thread(target=models.load, args=("slow",)) for _ in range(2)]
    for t in slow:
        t.start()
    assert started.wait(10)
    assert models.load("fast") == "model fast"  # returns while "slow" is still loading
    release.set()
    for t in slow:
        t.join(10)
    assert models.load("slow") == "model slow"
    assert sorted(builds) == ["fast", "slow"]  # two callers of "slow", one build


def builder(fail_with=None):
    """A build function that counts its calls and raises `fail_with` for the name "offline"."""
    calls = []

    def build(name):
        calls.append(name)
        if name == "offline":
            raise fail_with(f"{name} cannot be downloaded here.")
        return f"model {name}"
    return build, calls


def test_a_failed_download_is_remembered_and_the_bundled_model_stands_in(monkeypatch):
    build, calls = builder(registry.DownloadFailed)
    models = registry.Registry(build, "bundled", label="little bundled model")
    for _ in range(3):
        with pytest.raises(registry.ModelUnavailable, match="cannot be downloaded here"):
            models.load("offline")
    assert calls == ["offline"]  # the second and third callers were told at once
    model, note = models.resolve("offline")
    assert model == "model bundled"
    assert note == "offline cannot be downloaded here. Showing the bundled little bundled model instead."
    assert models.resolve("bundled") == ("model bundled", None)
    now = registry.time.monotonic()
    monkeypatch.setattr(registry.time, "monotonic", lambda: now + registry.RETRY_SECONDS + 1)
    with pytest.raises(registry.ModelUnavailable):
        models.load("offline")
    assert calls.count("offline") == 2  # tried again once the wait was over


def test_other_failures_are_not_remembered():
    build, calls = builder(registry.ModelUnavailable)  # e.g. a cached file that cannot be read: fixable at once
    models = registry.Registry(build, "bundled")
    for _ in range(2):
        with pytest.raises(registry.ModelUnavailable):
            models.load("offline")
    assert calls == ["offline", "offline"]


def test_unknown_names_and_the_bound_on_loaded_models():
    build, calls = builder()
    with pytest.raises(ValueError, match="Unknown model 'c'; choose one of a, b"):
        registry.Registry(build, "a", ("a", "b")).load("c")
    models = registry.Registry(build, "a", max_loaded=2)
    for name in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" arrives
        models.load(name)
    assert list(models.loaded) == ["a", "c"]
    models.load("b")
    assert calls == ["a", "b", "c", "b"]
    models.clear()
    assert not models.loaded
