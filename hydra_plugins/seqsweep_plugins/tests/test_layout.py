"""The plugin's boundaries: no import cycles, no app, no TensorFlow/Keras/MLflow, nothing re-executed by Hydra's scan."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]
PACKAGE = "hydra_plugins.seqsweep_plugins"
HEAVY = ("tensorflow", "keras", "mlflow")


def module_name(path: Path) -> str:
    parts = path.relative_to(PLUGIN).with_suffix("").parts
    return ".".join((PACKAGE, *parts)).removesuffix(".__init__")


def plugin_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PLUGIN.rglob("*.py")) if "tests" not in p.relative_to(PLUGIN).parts}


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside functions, except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    modules = plugin_modules()
    return {name: {m for m in imported_modules(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_two_plugin_modules_import_each_other_and_there_is_no_cycle():
    graph = import_graph()
    pairs = sorted(f"{a} <-> {b}" for a, targets in graph.items() for b in targets if a < b and a in graph.get(b, ()))
    assert pairs == []
    # Longer cycles too: a depth-first search that meets a module still on its path.
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                return [*path, name, target]
            if target not in state and (cycle := visit(target, [*path, name])):
                return cycle
        state[name] = "done"
        return None

    cycles = [cycle for name in sorted(graph) if name not in state and (cycle := visit(name, []))]
    assert cycles == []


def test_the_import_check_sees_lazy_imports_and_skips_type_checking_blocks(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.hint\ndef f():\n    from b import c\n"
    )
    assert imported_modules(source) == {"typing", "typing.TYPE_CHECKING", "b", "b.c"}


def test_the_plugin_imports_nothing_of_the_app():
    offending = sorted(
        f"{name}: {target}"
        for name, path in plugin_modules().items()
        for target in imported_modules(path)
        if target == "src" or target.startswith("src.")
    )
    assert offending == []


def test_importing_every_plugin_module_but_the_ray_launchers_loads_no_tensorflow_keras_or_mlflow():
    names = [name for name in plugin_modules() if ".ray_launcher.executor" not in name and ".ray_launcher.worker" not in name]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PLUGIN.parents[1])
    assert json.loads(result.stdout) == []


def test_hydras_plugin_scan_finds_the_plugins_and_never_re_executes_the_role_folders():
    # Hydra re-executes every module its scan walks; the role folders have no __init__.py, so
    # their classes (and the current job's state) must be the very objects imported before the scan.
    script = (
        "from hydra_plugins.seqsweep_plugins.engine import errors, job_context\n"
        "before = (errors.ConfigError, job_context.current_job)\n"
        "from hydra.core.plugins import Plugins\n"
        "found = {f'{c.__module__}.{c.__name__}' for c in Plugins.instance().discover()}\n"
        "from hydra_plugins.seqsweep_plugins.engine import errors, job_context\n"
        "assert before == (errors.ConfigError, job_context.current_job), 'the scan re-executed engine modules'\n"
        "print(sorted(n for n in found if 'seqsweep' in n))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PLUGIN.parents[1])
    assert result.stdout.strip() == str(
        [
            f"{PACKAGE}.grid.sweeper.GridSweeper",
            f"{PACKAGE}.optuna_sweeper.plugin.OptunaSweeper",
            f"{PACKAGE}.ray_launcher.launcher.RayLauncher",
        ]
    )
