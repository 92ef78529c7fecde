"""The layers of docs/architecture.md, enforced: a module imports only its own package
and the packages below it. A new arrow upward fails here, naming the module and line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. A package may import itself and anything after it in this list.
LAYERS = ["newsarchive", "crawler", "archive", "pipelines"]

# Inside the application: the programs that run the CLI (`python -m newsarchive`, and the
# scheduler's crawl launcher), the CLI, the commands, then the services.
APP_LAYERS = ["newsarchive.__main__", "newsarchive.launch", "newsarchive.cli",
              "newsarchive.commands"]


def _modules() -> list[Path]:
    return [path for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py"))
            if "fixtures" not in path.parts]


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _rank(name: str, layers: list[str]) -> int | None:
    for rank, layer in enumerate(layers):
        if name == layer or name.startswith(layer + "."):
            return rank
    return None


def _violation(module: str, imported: str) -> str | None:
    own, target = _rank(module, LAYERS), _rank(imported, LAYERS)
    if target is not None and own is not None and target < own:
        return f"{LAYERS[own]} may not import {LAYERS[target]} (a layer above it)"
    if own == target == 0:
        own_app, target_app = _rank(module, APP_LAYERS), _rank(imported, APP_LAYERS)
        own_app = len(APP_LAYERS) if own_app is None else own_app
        target_app = len(APP_LAYERS) if target_app is None else target_app
        if target_app < own_app:
            return f"an application service may not import {imported} (the CLI's layer)"
    return None


def layer_violations() -> list[str]:
    problems = []
    for path in _modules():
        module = _dotted(path)
        for line, imported in _imports(path):
            reason = _violation(module, imported)
            if reason:
                problems.append(f"{path.relative_to(ROOT)}:{line}: imports {imported}: {reason}")
    return problems


def test_every_import_runs_down_the_layers() -> None:
    assert layer_violations() == []


def test_the_check_sees_an_upward_import() -> None:
    assert _violation("archive.store", "crawler.items")
    assert _violation("pipelines.extract", "archive.fts")
    assert _violation("newsarchive.schedule.scheduler", "newsarchive.commands.options")
    assert _violation("crawler.spiders.news", "newsarchive.cli")
    assert _violation("newsarchive.schedule.launcher", "newsarchive.cli")
    assert _violation("newsarchive.cli", "newsarchive.launch")
    assert _violation("newsarchive.commands.browse", "archive.fts") is None
    assert _violation("crawler.work", "pipelines.extract") is None


def test_the_layers_are_the_documented_ones() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    for layer in LAYERS + APP_LAYERS:
        assert f"`{layer}`" in doc
