"""core.settings: every GLASSBOX_* variable is read there and nowhere else, with its type and default, and the
README's table is its list."""
import re
from pathlib import Path

from core import settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_lists_every_setting_as_the_module_does():
    readme = (ROOT / "README.md").read_text()
    assert settings.readme_table() in readme
    assert set(re.findall(r"GLASSBOX_[A-Z_]+", readme)) == {s.name for s in settings.SETTINGS}


def test_no_other_module_reads_a_glassbox_variable():
    readers = []
    for path in sorted([*ROOT.glob("*.py"), *ROOT.glob("core/**/*.py"), *ROOT.glob("explorers/**/*.py"),
                        *ROOT.glob("benchmarks/**/*.py"), *ROOT.glob("deploy/**/*.py"), *ROOT.glob("tests/**/*.py")]):
        if path.name == "settings.py" and path.parent.name == "core":
            continue
        text = path.read_text()
        if re.search(r"environ(\.get)?[\[(]\s*[\"']GLASSBOX_", text) or re.search(r"getenv\([\"']GLASSBOX_", text):
            readers.append(path.relative_to(ROOT).as_posix())
    assert readers == []


def test_values_are_typed_and_a_bad_one_falls_back_to_the_default(monkeypatch, caplog):
    monkeypatch.delenv("GLASSBOX_CONCURRENCY", raising=False)
    assert settings.CONCURRENCY.get() == 2
    monkeypatch.setenv("GLASSBOX_CONCURRENCY", " 5 ")
    assert settings.CONCURRENCY.get() == 5
    for bad in ("two", "0", "-3"):
        monkeypatch.setenv("GLASSBOX_CONCURRENCY", bad)
        assert settings.CONCURRENCY.get() == 2
    assert "GLASSBOX_CONCURRENCY=-3 cannot be read" in caplog.text
    monkeypatch.setenv("GLASSBOX_TEXT_MODELS", " gpt2, ,bert-base-uncased ")
    assert settings.TEXT_MODELS.get() == {"gpt2", "bert-base-uncased"}
    monkeypatch.setenv("GLASSBOX_TEXT_MODELS", " , ")
    assert settings.TEXT_MODELS.get() is None
    monkeypatch.setenv("GLASSBOX_MAX_PARAMS", "12x")
    assert settings.MAX_PARAMS.get(100) == 100   # each tab passes its own cap as the default
    monkeypatch.setenv("GLASSBOX_MAX_PARAMS", "1000")
    assert settings.MAX_PARAMS.get(100) == 1000
    monkeypatch.setenv("GLASSBOX_LOCAL_MODELS", "yes")
    assert settings.LOCAL_MODELS.get() is True
    monkeypatch.setenv("GLASSBOX_LOCAL_MODELS", "0")
    assert settings.LOCAL_MODELS.get() is False


def test_offline_names_the_variable_that_forbids_downloads(monkeypatch):
    for name in settings.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert settings.offline_by() is None
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", " True ")
    assert settings.offline_by() == "TRANSFORMERS_OFFLINE=True"
