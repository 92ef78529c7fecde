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


HEALTH_HEADINGS = {"generic": "generic fallback", "no_date": "no date",
                   "no_author": "no author", "short": "short body", "no_article": "no article"}


def health_table(health: Iterable[dict[str, Any]], title: str) -> Table:
    """Per source: the last run's extraction shares, the previous runs' average in
    brackets, and what jumped."""
    table = Table(title=title, title_justify="left",
                  caption="last run's share (average of the runs before it)",
                  caption_justify="left")
    table.add_column("source")
    table.add_column("run", justify="right")
    table.add_column("articles", justify="right")
    for heading in HEALTH_HEADINGS.values():
        table.add_column(heading, justify="right")
    table.add_column("flag")
    for row in health:
        last, before = row["last_run"], row["previous"]
        cells = [_share(last[f"{m}_share"], before[f"{m}_share"]) for m in HEALTH_HEADINGS]
        flag = "; ".join(
            f"{HEALTH_HEADINGS[f['measure']]} +{round((f['share'] - f['before']) * 100)} pts"
            for f in row["flags"])
        table.add_row(row["source"], str(last["run_id"]), str(last["articles"]), *cells,
                      f"[red]template changed? {flag}[/red]" if flag else "")
    return table


def _share(now: float | None, before: float | None) -> str:
    text = "–" if now is None else f"{now:.0%}"
    return text if before is None else f"{text} ({before:.0%})"
