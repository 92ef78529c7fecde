"""Extraction quality measured against ground truth (the engine of `newsarchive eval`).

Each page is extracted (and, with --baseline, run through bare trafilatura) in a process
pool worker, scored there by the pure functions of `newsarchive.evaluation.scoring`, and only the
scores travel back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from newsarchive.evaluation.evalsets import EvalCase
from newsarchive.evaluation.scoring import PageScore, score_page, summarize
from pipelines.pagefiles import read_page

GOOD_F1 = 0.98  # below this a NetEase page is an extraction defect worth a look


@dataclass(frozen=True)
class CaseResult:
    case: EvalCase
    ours: PageScore
    baseline: PageScore | None = None
    error: str | None = None  # an exception from our extractor (a bug by contract)

    def as_dict(self) -> dict:
        row = {"id": self.case.id, "set": self.case.set, "url": self.case.url,
               "ours": self.ours.as_dict()}
        if self.baseline is not None:
            row["baseline"] = self.baseline.as_dict()
        if self.error:
            row["error"] = self.error
        return row


def _score(case: EvalCase, text: str | None, title: str | None, published: str | None,
           found: bool, seconds: float) -> PageScore:
    return score_page(text=text, title=title, published=published,
                      truth_text=case.truth_text, truth_title=case.truth_title,
                      truth_published=case.truth_published, boilerplate=case.boilerplate,
                      url=case.url, found=found, seconds=seconds)


def run_ours(case: EvalCase, body: bytes) -> tuple[PageScore, str | None]:
    from pipelines.extract import extract_article

    start = time.perf_counter()
    try:
        article = extract_article(body, case.url, content_type=case.content_type,
                                  fetched_at=case.fetched_at)
        error = None
    except Exception as exc:  # scored as nothing found, reported, and the run goes on
        article, error = None, f"{type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - start
    if article is None:
        return _score(case, None, None, None, False, seconds), error
    return _score(case, article["text"], article["title"], article["published_at"], True,
                  seconds), None


def run_baseline(case: EvalCase, body: bytes) -> PageScore:
    """Bare trafilatura, as a user would call it: default options, raw bytes."""
    import trafilatura

    start = time.perf_counter()
    try:
        text = trafilatura.extract(body, url=case.url, output_format="txt")
        meta = trafilatura.bare_extraction(body, url=case.url, with_metadata=True)
    except Exception:  # the baseline failing on a page is a score of 0, not our bug
        text, meta = None, None
    seconds = time.perf_counter() - start
    title = getattr(meta, "title", None) if meta is not None else None
    date = getattr(meta, "date", None) if meta is not None else None
    return _score(case, text, title, date, text is not None, seconds)


def run_case(case: EvalCase, baseline: bool = False) -> CaseResult:
    """One page, both extractors: the unit of work of a pool worker."""
    body = read_page(case.page)
    ours, error = run_ours(case, body)
    return CaseResult(case, ours, run_baseline(case, body) if baseline else None, error)


def evaluate(cases: Sequence[EvalCase], *, baseline: bool = False, workers: int = 1,
             console: Console | None = None) -> list[CaseResult]:
    """Score every case, in input order; `workers` > 1 uses a process pool."""
    if workers <= 1 or len(cases) <= 1:
        return [run_case(case, baseline) for case in _progress(cases, console)]
    from concurrent.futures import as_completed

    from crawler.pool import extraction_pool

    pool = extraction_pool(workers)
    futures = {pool.submit(run_case, case, baseline): i for i, case in enumerate(cases)}
    results: list[CaseResult | None] = [None] * len(cases)
    for future in _progress(as_completed(futures), console, total=len(cases)):
        results[futures[future]] = future.result()
    return [r for r in results if r is not None]


def _progress(items: Iterable, console: Console | None, total: int | None = None
              ) -> Iterable:
    if console is None or not console.is_terminal:
        return items
    from rich.progress import track

    return track(items, total=total, description="scoring", console=console,
                 transient=True)


def summaries(results: Sequence[CaseResult]) -> dict:
    """{set: {"ours": summary, "baseline": summary?}}, plus "all" when sets mix."""
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        groups.setdefault(result.case.set, []).append(result)
    if len(groups) > 1:
        groups["all"] = list(results)
    out = {}
    for name, group in groups.items():
        out[name] = {"ours": summarize([r.ours for r in group])}
        if all(r.baseline is not None for r in group):
            out[name]["baseline"] = summarize([r.baseline for r in group if r.baseline])
    return out


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _mark(value: bool | None) -> str:
    return {True: "[green]ok[/green]", False: "[red]no[/red]", None: "—"}[value]


def _marks(ours: bool | None, base: PageScore | None, key: str) -> str:
    if base is None:
        return _mark(ours)
    return f"{_mark(ours)}/{_mark(getattr(base, key))}"


def pages_table(results: Sequence[CaseResult]) -> Table:
    baseline = any(r.baseline for r in results)
    table = Table(title="per page" + (" (title, date: ours/trafilatura)" if baseline else ""),
                  title_justify="left")
    table.add_column("page", no_wrap=True)
    for heading in ("F1", "P", "R", *(("F1 base",) if baseline else ())):
        table.add_column(heading, justify="right")
    table.add_column("title")
    table.add_column("date")
    table.add_column("leaks", justify="right")
    for r in results:
        f1 = r.ours.body.f1
        style = "red" if f1 < GOOD_F1 else "green"
        cells = [r.case.id, f"[{style}]{f1:.3f}[/{style}]", _fmt(r.ours.body.precision),
                 _fmt(r.ours.body.recall)]
        if baseline:
            cells.append(_fmt(r.baseline.body.f1) if r.baseline else "")
        cells += [_marks(r.ours.title_ok, r.baseline, "title_ok"),
                  _marks(r.ours.date_ok, r.baseline, "date_ok")]
        leaked = len(r.ours.leaks)
        cells.append("[red]error[/red]" if r.error else f"[red]{leaked}[/red]" if leaked
                     else "0")
        table.add_row(*cells)
    return table


SUMMARY_ROWS = (
    ("pages", "pages"), ("found", "article found"), ("f1_macro", "body F1 (macro)"),
    ("precision_macro", "precision (macro)"), ("recall_macro", "recall (macro)"),
    ("f1_micro", "body F1 (micro)"), ("title_rate", "title match"),
    ("date_rate", "date match (instant)"), ("day_rate", "date match (day)"),
    ("leaks", "boilerplate leaks"), ("seconds", "CPU seconds"),
)


def summary_table(name: str, by_extractor: dict) -> Table:
    """One set's figures, a row per measure and a column per extractor."""
    table = Table(title=f"overall: {name}", title_justify="left")
    table.add_column("measure")
    for extractor in by_extractor:
        table.add_column("newsarchive" if extractor == "ours" else "trafilatura",
                         justify="right")
    for key, label in SUMMARY_ROWS:
        table.add_row(label, *(_cell(summary[key]) for summary in by_extractor.values()))
    return table


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "—" if value is None else str(value)


def print_report(console: Console, results: Sequence[CaseResult], groups: dict) -> None:
    console.print(pages_table(results))
    for r in results:
        if r.ours.leaks:
            console.print(f"[red]{r.case.id} leaks:[/red] " +
                          "; ".join(repr(s) for s in r.ours.leaks))
        if r.error:
            console.print(f"[red]{r.case.id}: extraction raised {r.error}[/red]")
    for name, by_extractor in groups.items():
        console.print(summary_table(name, by_extractor))


def report(results: Sequence[CaseResult], seconds: float, workers: int) -> dict:
    return {"pages": len(results), "workers": workers, "wall_seconds": round(seconds, 2),
            "sets": summaries(results), "results": [r.as_dict() for r in results]}
