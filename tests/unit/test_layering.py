"""The layering rules of docs/ARCHITECTURE.md, read from every module's imports with ast: core never imports
gradio; a core topic package never imports another topic package; an explorer never imports another explorer
(explorers/common.py, explorers/inputs.py and explorers/streaming.py are shared by all of them)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_CORE_PACKAGES = {"models", "train"}    # core's subpackages that every topic may use
SHARED_EXPLORERS = {"__init__", "common", "inputs", "streaming"}


def imported(path: Path, root: Path) -> set[str]:
    """The absolute names of every module `path` imports (relative imports resolved against its package)."""
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from core import attention`
    return names


def topic(name: str, root: Path) -> str | None:
    """The core topic package a module name belongs to ("convolution" for core.convolution.features)."""
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "core" or parts[1] in SHARED_CORE_PACKAGES:
        return None
    return parts[1] if (root / "core" / parts[1]).is_dir() else None


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "core").rglob("*.py")):
        here = topic(".".join(path.relative_to(root).with_suffix("").parts), root)
        for name in sorted(imported(path, root)):
            where = path.relative_to(root).as_posix()
            if name.split(".")[0] in ("gradio", "gradio_client"):
                found.append(f"{where} imports {name}: core never imports gradio")
            other = topic(name, root)
            if here and other and other != here:
                found.append(f"{where} imports {name}: topic package {here} imports topic package {other}")
    for path in sorted((root / "explorers").glob("*.py")):
        for name in sorted(imported(path, root)):
            parts = name.split(".")
            if (parts[0] == "explorers" and len(parts) > 1 and parts[1] not in SHARED_EXPLORERS
                    and parts[1] != path.stem and (root / "explorers" / f"{parts[1]}.py").is_file()):
                found.append(f"{path.relative_to(root).as_posix()} imports {name}: explorers never import each other")
    return found


def test_the_project_keeps_its_layers():
    assert violations(ROOT) == []


def write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.fixture
def small_project(tmp_path):
    """A project of the same shape that obeys every rule."""
    for relative, source in {
        "core/__init__.py": "", "core/render.py": "import numpy\n",
        "core/convolution/__init__.py": "", "core/convolution/maths.py": "from core import render\n",
        "core/attention/__init__.py": "", "core/attention/maths.py": "from core.models import cnn\n",
        "core/models/__init__.py": "", "core/models/cnn.py": "import torch\n",
        "explorers/__init__.py": "", "explorers/common.py": "import gradio as gr\n",
        "explorers/convolution.py": "import gradio\nfrom explorers.common import gr\n"
                                    "from core.convolution import maths\n",
        "explorers/attention.py": "from explorers import common\nfrom core.attention import maths\n",
    }.items():
        write(tmp_path, relative, source)
    return tmp_path


def test_a_project_that_obeys_the_rules_passes(small_project):
    assert violations(small_project) == []


def test_each_broken_rule_is_reported(small_project):
    write(small_project, "core/render.py", "import gradio as gr\n")
    write(small_project, "core/attention/maths.py", "from ..convolution import maths\n")
    write(small_project, "core/convolution/figures.py", "from core import attention\n")
    write(small_project, "explorers/attention.py", "from explorers.convolution import maths\n")
    assert violations(small_project) == [
        "core/attention/maths.py imports core.convolution: topic package attention imports topic package convolution",
        "core/attention/maths.py imports core.convolution.maths: "
        "topic package attention imports topic package convolution",
        "core/convolution/figures.py imports core.attention: topic package convolution imports topic package attention",
        "core/render.py imports gradio: core never imports gradio",
        "explorers/attention.py imports explorers.convolution: explorers never import each other",
        "explorers/attention.py imports explorers.convolution.maths: explorers never import each other",
    ]
