"""`newsarchive eval`: extraction quality measured against ground truth."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from newsarchive.evaluation.evalsets import EvalSetError, discover
from newsarchive.evaluation.evaluate import evaluate, print_report, report
from newsarchive.evaluation.floors import make_floors


@click.command(name="eval")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--baseline", is_flag=True,
              help="Also score bare trafilatura on the same pages, side by side.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("-j", "--workers", type=int, default=0,
              help="Worker processes. Default: one per CPU core.")
@click.option("--write-floors", type=click.Path(dir_okay=False, path_type=Path),
              help="Write these scores as the quality floors the tests enforce.")
def eval_command(paths: tuple[Path, ...], baseline: bool, as_json: bool, workers: int,
                 write_floors: Path | None) -> None:
    """Score extraction against ground truth on the pages under PATHS.

    A PATH is the fixtures directory (or one fixture case), a folder of corpus-builder
    pages (`<page>.html` + `<page>.gt.json`), the scrapinghub benchmark
    (`ground-truth.json` + `html/`), one page of those, or any folder holding them.

    Body: bag-of-tokens precision, recall and F1 (a token is one CJK character or one
    run of letters/digits, case-folded); overall F1 is the macro average over pages, as
    upstream benchmarks report, and the micro average over all tokens. Title: exact
    after whitespace normalisation. Date: the same instant (and +08:00 on NetEase);
    "day" only asks for the right calendar day (a truth that is a day alone asks for the
    day). Author and publisher: exact, where the truth has them. Leaks: boilerplate
    strings of the truth found in the extracted text. Lost: pages where newsarchive
    found no article but trafilatura found one (each such page is listed with the
    reasons the generic path gave). Then one row per site profile.

    \b
    Examples:
        newsarchive eval tests/fixtures
        newsarchive eval ../shared/corpora --baseline
        newsarchive eval tests/fixtures --json | jq .sets
        newsarchive eval tests/fixtures --write-floors tests/quality_floors.json
    """
    try:
        cases = [case for path in paths for case in discover(path)]
    except EvalSetError as exc:
        raise click.ClickException(str(exc)) from None
    if not cases:
        raise click.ClickException("no pages with ground truth under " +
                                   ", ".join(map(str, paths)))
    workers = workers or os.cpu_count() or 1
    err = Console(stderr=True)
    start = time.perf_counter()
    results = evaluate(cases, baseline=baseline, workers=workers, console=err)
    seconds = time.perf_counter() - start
    data = report(results, seconds, workers)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        console = Console()
        if not console.is_terminal:  # a file or a pipe: room for every column
            console = Console(width=110)
        print_report(console, results, data)
    sys.stdout.flush()  # the timing line (stderr) must come after the tables
    err.print(f"{len(results)} pages in {seconds:.1f} s with {min(workers, len(results))}"
              f" worker(s) ({seconds / len(results):.2f} s a page)")
    if write_floors is not None:
        floors = make_floors({r.case.id: r.ours for r in results},
                             {r.case.id: r.profile for r in results})
        write_floors.write_text(json.dumps(floors, ensure_ascii=False, indent=1) + "\n",
                                "utf-8")
        err.print(f"floors for {len(results)} pages written to {write_floors}")
    if any(r.error for r in results):
        sys.exit(1)
