"""The environment a benchmark runs a tree's code in: the tree first on PYTHONPATH, and
its modules' bytecode cached, as an installed package's is.

Without the cache (a fresh checkout, or PYTHONDONTWRITEBYTECODE set, as on some CI
machines) every run compiles the project's modules from source: ~0.7 s of a run that
finds nothing new, which pip's install compiles once (`pip install .` writes the .pyc).
"""

from __future__ import annotations

import compileall
import os
from functools import cache
from pathlib import Path

PACKAGES = ("newsarchive", "crawler", "pipelines", "archive")


@cache
def compiled(tree: Path) -> Path:
    """Compile the tree's packages once per benchmark run (what pip does at install)."""
    for package in PACKAGES:
        compileall.compile_dir(tree / package, quiet=1)
    return tree


def tree_env(tree: Path) -> dict[str, str]:
    """os.environ with the tree's code first and its cached bytecode used."""
    env = {**os.environ, "PYTHONPATH": str(compiled(tree.resolve()))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
