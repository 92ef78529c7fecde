"""The documentation covers every command, and every command's --help has an example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsarchive.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
COMMANDS = cli.list_commands(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", COMMANDS)
def test_readme_documents_command(name: str) -> None:
    assert re.search(rf"^\| `{name}` \|", README, re.M), f"README's command table lacks {name}"
    assert f"newsarchive {name}" in README, f"README has no example of newsarchive {name}"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_a_runnable_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"newsarchive {name}" in result.output


def test_readme_quick_start_is_the_ci_command() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text("utf-8")
    test_command = ci.strip().splitlines()[-1]
    assert test_command in README
