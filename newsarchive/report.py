"""Rich tables the CLI prints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.table import Table

RUN_COLUMNS = ("source", "status", "pages_fetched", "articles_new", "duplicates", "failures")
RUN_HEADINGS = ("source", "status", "pages", "new", "duplicates", "failures")


def runs_table(runs: Iterable[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    with_times = False
    rows = list(runs)
    if rows and "started_at" in rows[0]:
        with_times = True
        table.add_column("run", justify="right")
        table.add_column("started")
    for heading in RUN_HEADINGS:
        table.add_column(heading, justify="left" if heading in ("source", "status") else "right")
    for run in rows:
        status = run.get("status") or ""
        style = {"ok": "green", "running": "yellow"}.get(status, "red")
        cells = [str(run.get(c) if run.get(c) is not None else "") for c in RUN_COLUMNS]
        cells[1] = f"[{style}]{status}[/{style}]"
        if with_times:
            cells = [str(run.get("run_id", "")), str(run.get("started_at", ""))[:19], *cells]
        table.add_row(*cells)
    return table


def sources_table(sources: Iterable[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ("source", "articles", "duplicates", "failures", "newest", "runs", "last_run")
    for column in columns:
        table.add_column(column.replace("_", " "),
                         justify="right" if column in ("articles", "duplicates", "failures", "runs")
                         else "left")
    for row in sources:
        table.add_row(*(str(row.get(c) if row.get(c) is not None else "") for c in columns))
    return table
