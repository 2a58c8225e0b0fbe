"""The rules of docs/ARCHITECTURE.md, checked on the source with ast; each is shown to fail on a small project that
breaks it.

Layers, from the bottom: core's top-level modules (shared by every topic) and core/models; the topic packages
(core/convolution, core/attention, ...), which never import each other; core/train and core/evaluate, scripts
above the topics; then explorers/, the tabs, whose packages never import each other and hold no torch.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = {"train", "evaluate"}          # core's scripts layer: may use every topic, used by none
SHARED_CORE_PACKAGES = {"models"}        # core's subpackage that every topic may use
SHARED_EXPLORER_PACKAGES = {"widgets"}   # explorers' subpackage that every tab may use
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80                  # outside tests
SOURCE_DIRS = ("core", "explorers", "benchmarks", "deploy", "tests")


def module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def imported(path: Path, root: Path, tree: ast.AST) -> set[str]:
    """The absolute names of every module `path` imports, anywhere in it (relative imports resolved)."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(tree):
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


def core_layer(name: str, root: Path) -> tuple[str, str] | None:
    """("topic", "gan") for core.gan.*, ("scripts", "train") for core.train.* or core.evaluate, ("shared", ...) for
    core's top-level modules and core.models; None outside core."""
    parts = name.split(".")
    if parts[0] != "core":
        return None
    if len(parts) < 2:
        return ("shared", "core")
    if parts[1] in SCRIPTS:
        return ("scripts", parts[1])
    if parts[1] not in SHARED_CORE_PACKAGES and (root / "core" / parts[1]).is_dir():
        return ("topic", parts[1])
    return ("shared", parts[1])


def tab_package(name: str, root: Path) -> str | None:
    """The tab package a module name belongs to ("gan" for explorers.gan.points), None for the shared modules."""
    parts = name.split(".")
    if parts[0] != "explorers" or len(parts) < 2 or parts[1] in SHARED_EXPLORER_PACKAGES:
        return None
    if parts[1] in SHARED_EXPLORER_PACKAGES:
        return None
    return parts[1] if (root / "explorers" / parts[1] / "__init__.py").is_file() else None


def core_rules(where: str, here: tuple[str, str], names: set[str], root: Path) -> list[str]:
    found = []
    for name in sorted(names):
        top = name.split(".")[0]
        if top in ("gradio", "gradio_client"):
            found.append(f"{where} imports {name}: core never imports gradio")
        if top in ("explorers", "app", "benchmarks", "tests"):
            found.append(f"{where} imports {name}: core never imports the layers above it")
        other = core_layer(name, root)
        if other is None or other[1] == here[1]:
            continue
        if other[0] == "scripts" and here[0] != "scripts":
            found.append(f"{where} imports {name}: only the scripts import core/{other[1]}")
        elif other[0] == "topic" and here[0] == "topic":
            found.append(f"{where} imports {name}: topic package {here[1]} imports topic package {other[1]}")
        elif other[0] == "topic" and here[0] == "shared":
            found.append(f"{where} imports {name}: shared core module imports topic package {other[1]}")
    return found


def explorer_rules(where: str, here: str | None, names: set[str], root: Path) -> list[str]:
    found = []
    for name in sorted(names):
        if name.split(".")[0] in ("torch", "torchvision"):
            found.append(f"{where} imports {name}: explorers hold no torch (the maths is in core)")
        other = tab_package(name, root)
        if other is not None and other != here:
            found.append(f"{where} imports {name}: " + (f"tab {here} imports tab {other}" if here else
                                                          f"shared explorer module imports tab {other}"))
    return found


def size_rules(where: str, source: str, tree: ast.AST, is_test: bool) -> list[str]:
    found = []
    lines = source.count("\n")
    if lines > MAX_FILE_LINES:
        found.append(f"{where} has {lines} lines: no source file over {MAX_FILE_LINES}")
    if not is_test:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{where}:{node.lineno} {node.name} has {length} lines: no function over "
                                 f"{MAX_FUNCTION_LINES}")
    return found


# What marks a string as JavaScript: an arrow function's body, or the DOM. Scripts live in .js files (explorers/
# widgets, and beside the tab module that uses them), read at build time, where they can be read and reviewed.
JAVASCRIPT = re.compile(r"=>\s*[{(]|document\.|addEventListener|querySelector")


def script_rules(where: str, tree: ast.AST, is_test: bool) -> list[str]:
    if is_test:  # a test may hand the page a line of JavaScript to evaluate
        return []
    return [f"{where}:{node.lineno} holds JavaScript in a Python string: put it in a .js file"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and JAVASCRIPT.search(node.value)]


def violations(root: Path) -> list[str]:
    found = []
    paths = [*root.glob("*.py"), *(p for d in SOURCE_DIRS for p in (root / d).rglob("*.py"))]
    for path in sorted(paths):
        where = path.relative_to(root).as_posix()
        source = path.read_text()
        tree = ast.parse(source, where)
        names = imported(path, root, tree)
        name = module_name(path, root)
        if name.startswith("core."):
            found += core_rules(where, core_layer(name, root), names, root)
        elif name.startswith("explorers."):
            found += explorer_rules(where, tab_package(name, root), names, root)
        found += size_rules(where, source, tree, is_test=where.startswith("tests/"))
        found += script_rules(where, tree, is_test=where.startswith(("tests/", "benchmarks/")))
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
        "app.py": "from explorers import gan\n",
        "core/__init__.py": "", "core/render.py": "import numpy\nfrom core import validate\n",
        "core/validate.py": "", "core/convolution/__init__.py": "",
        "core/convolution/maths.py": "from core import render\nfrom core.models import cnn\n",
        "core/gan/__init__.py": "", "core/gan/maths.py": "from ..models import cnn\nimport torch\n",
        "core/models/__init__.py": "", "core/models/cnn.py": "import torch\nfrom core import render\n",
        "core/train/__init__.py": "", "core/train/gan.py": "from core.gan import maths\nfrom core.convolution import"
                                                             " maths as m\n",
        "core/evaluate.py": "from core.gan import maths\nfrom core.train import gan\n",
        "explorers/__init__.py": "", "explorers/common.py": "import gradio as gr\nfrom core import render\n",
        "explorers/gan/__init__.py": "from explorers.gan import points\n",
        "explorers/gan/points.py": "import numpy\nfrom explorers import common\nfrom . import __init__\n"
                                   "from core.gan import maths\n",
        "explorers/convolution/__init__.py": "from explorers.common import gr\nfrom core.convolution import maths\n",
        "tests/test_x.py": "def test():\n" + "    x = 1\n" * 100,
        "benchmarks/run.py": "import explorers.gan\n",
    }.items():
        write(tmp_path, relative, source)
    return tmp_path


def test_a_project_that_obeys_the_rules_passes(small_project):
    assert violations(small_project) == []


def test_each_broken_rule_is_reported(small_project):
    write(small_project, "core/render.py", "import gradio as gr\n")
    write(small_project, "core/validate.py", "from explorers import common\nfrom core.gan import maths\n")
    write(small_project, "core/gan/maths.py", "from ..convolution import maths\nfrom core.train import gan\n")
    write(small_project, "core/models/cnn.py", "from core.convolution.maths import f\n")
    write(small_project, "explorers/gan/points.py", "import torch\nfrom explorers.convolution import x\n")
    write(small_project, "explorers/common.py", "from explorers.gan import points\n")
    write(small_project, "explorers/convolution/long.py", "def f():\n" + "    x = 1\n" * 80)
    write(small_project, "core/big.py", "x = 1\n" * 601)
    write(small_project, "explorers/vae/layout.py", 'JS = "() => { document.title = 1 }"\n')
    assert violations(small_project) == [
        "core/big.py has 601 lines: no source file over 600",
        "core/gan/maths.py imports core.convolution: topic package gan imports topic package convolution",
        "core/gan/maths.py imports core.convolution.maths: topic package gan imports topic package convolution",
        "core/gan/maths.py imports core.train: only the scripts import core/train",
        "core/gan/maths.py imports core.train.gan: only the scripts import core/train",
        "core/models/cnn.py imports core.convolution.maths: shared core module imports topic package convolution",
        "core/models/cnn.py imports core.convolution.maths.f: shared core module imports topic package convolution",
        "core/render.py imports gradio: core never imports gradio",
        "core/validate.py imports core.gan: shared core module imports topic package gan",
        "core/validate.py imports core.gan.maths: shared core module imports topic package gan",
        "core/validate.py imports explorers: core never imports the layers above it",
        "core/validate.py imports explorers.common: core never imports the layers above it",
        "explorers/common.py imports explorers.gan: shared explorer module imports tab gan",
        "explorers/common.py imports explorers.gan.points: shared explorer module imports tab gan",
        "explorers/convolution/long.py:1 f has 81 lines: no function over 80",
        "explorers/gan/points.py imports explorers.convolution: tab gan imports tab convolution",
        "explorers/gan/points.py imports explorers.convolution.x: tab gan imports tab convolution",
        "explorers/gan/points.py imports torch: explorers hold no torch (the maths is in core)",
        "explorers/vae/layout.py:1 holds JavaScript in a Python string: put it in a .js file",
    ]
