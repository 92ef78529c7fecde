"""Extraction quality measured against ground truth (the engine of `newsarchive eval`).

Each page is extracted (and, with --baseline, run through bare trafilatura) in a process
pool worker, scored there by the pure functions of `newsarchive.evaluation.scoring`, and
only the scores travel back. Results are summarised per set, and per site profile (the
profile that extracted the page; `generic` for plain trafilatura).
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
    profile: str = "generic"  # the site profile that extracted it (or would have)
    why: tuple[str, ...] = ()  # when ours found nothing: how each attempt was judged

    @property
    def lost(self) -> bool:
        """Ours found no article where bare trafilatura found one."""
        return not self.ours.found and self.baseline is not None and self.baseline.found

    def as_dict(self) -> dict:
        row = {"id": self.case.id, "set": self.case.set, "url": self.case.url,
               "profile": self.profile, "ours": self.ours.as_dict()}
        if self.why:
            row["why"] = list(self.why)
        if self.baseline is not None:
            row["baseline"] = self.baseline.as_dict()
        if self.error:
            row["error"] = self.error
        return row


def _score(case: EvalCase, found: dict | None, seconds: float) -> PageScore:
    """Score what an extractor found (text, title, published, author, publisher)."""
    got = found or {}
    return score_page(text=got.get("text"), title=got.get("title"),
                      published=got.get("published"), author=got.get("author"),
                      publisher=got.get("publisher"), truth_text=case.truth_text,
                      truth_title=case.truth_title, truth_published=case.truth_published,
                      truth_author=case.truth_author, truth_publisher=case.truth_publisher,
                      boilerplate=case.boilerplate, url=case.url, found=found is not None,
                      seconds=seconds)


def run_ours(case: EvalCase, body: bytes) -> tuple[PageScore, str | None, str]:
    """Our score, the exception if extraction raised, and the profile used."""
    from pipelines.extract import extract_article
    from pipelines.sites import profile_for

    start = time.perf_counter()
    try:
        article = extract_article(body, case.url, content_type=case.content_type,
                                  fetched_at=case.fetched_at)
        error = None
    except Exception as exc:  # scored as nothing found, reported, and the run goes on
        article, error = None, f"{type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - start
    if article is None:
        site = profile_for(case.url)
        return _score(case, None, seconds), error, site.name if site else "generic"
    found = {**article, "published": article["published_at"]}
    return _score(case, dict(found), seconds), None, article["profile"]


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
    if text is None:
        return _score(case, None, seconds)
    fields = {"title": "title", "published": "date", "author": "author",
              "publisher": "sitename"}
    found = {key: getattr(meta, attr, None) for key, attr in fields.items()}
    return _score(case, {**found, "text": text}, seconds)


def run_case(case: EvalCase, baseline: bool = False) -> CaseResult:
    """One page, both extractors: the unit of work of a pool worker."""
    from pipelines.extract import explain

    body = read_page(case.page)
    ours, error, profile = run_ours(case, body)
    why = () if ours.found or error else tuple(
        explain(body, case.url, content_type=case.content_type))
    return CaseResult(case, ours, run_baseline(case, body) if baseline else None, error,
                      profile, why)


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


def summaries(results: Sequence[CaseResult], by: str = "set") -> dict:
    """{group: {"ours": summary, "baseline": summary?, "lost": n?}} per set (plus "all"
    when sets mix) or, with by="profile", per site profile. "lost": pages where ours
    found nothing and bare trafilatura found something."""
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        name = result.case.set if by == "set" else result.profile
        groups.setdefault(name, []).append(result)
    if by == "set" and len(groups) > 1:
        groups["all"] = list(results)
    out = {}
    for name, group in groups.items():
        out[name] = {"ours": summarize([r.ours for r in group])}
        if all(r.baseline is not None for r in group):
            out[name]["baseline"] = summarize([r.baseline for r in group if r.baseline])
            out[name]["lost"] = sum(r.lost for r in group)
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
    table = Table(title="per page" + (" (marks: ours/trafilatura)" if baseline else ""),
                  title_justify="left")
    table.add_column("page", no_wrap=True)
    for heading in ("F1", "P", "R", *(("F1 base",) if baseline else ())):
        table.add_column(heading, justify="right")
    for heading in ("title", "date", "author", "publ."):
        table.add_column(heading)
    table.add_column("leaks", justify="right")
    for r in results:
        f1 = r.ours.body.f1
        style = "red" if f1 < GOOD_F1 else "green"
        cells = [r.case.id, f"[{style}]{f1:.3f}[/{style}]", _fmt(r.ours.body.precision),
                 _fmt(r.ours.body.recall)]
        if baseline:
            cells.append(_fmt(r.baseline.body.f1) if r.baseline else "")
        cells += [_marks(getattr(r.ours, key), r.baseline, key)
                  for key in ("title_ok", "date_ok", "author_ok", "publisher_ok")]
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
    ("author_rate", "author match"), ("publisher_rate", "publisher match"),
    ("leaks", "boilerplate leaks"), ("lost", "lost (trafilatura found one)"),
    ("seconds", "CPU seconds"),
)


def summary_table(name: str, by_extractor: dict) -> Table:
    """One set's figures, a row per measure and a column per extractor."""
    table = Table(title=f"overall: {name}", title_justify="left")
    table.add_column("measure")
    summaries_ = {k: v for k, v in by_extractor.items() if k != "lost"}
    for extractor in summaries_:
        table.add_column("newsarchive" if extractor == "ours" else "trafilatura",
                         justify="right")
    for key, label in SUMMARY_ROWS:
        if key == "lost":
            if "lost" in by_extractor:
                table.add_row(label, str(by_extractor["lost"]), "")
            continue
        table.add_row(label, *(_cell(summary[key]) for summary in summaries_.values()))
    return table


PROFILE_COLUMNS = (
    ("pages", "pages"), ("found", "found"), ("f1_macro", "F1"), ("title_rate", "title"),
    ("date_rate", "date"), ("author_rate", "author"), ("publisher_rate", "publ."),
    ("leaks", "leaks"),
)


def profiles_table(by_profile: dict) -> Table:
    """One row per site profile: what it extracted and how well (F1 base: trafilatura's
    F1 on the same pages; lost: pages only trafilatura found an article on)."""
    table = Table(title="per site profile", title_justify="left")
    table.add_column("profile")
    baseline = any("baseline" in groups for groups in by_profile.values())
    for _key, heading in PROFILE_COLUMNS:
        table.add_column(heading, justify="right")
    if baseline:
        table.add_column("F1 base", justify="right")
        table.add_column("lost", justify="right")
    for name, groups in sorted(by_profile.items()):
        ours = groups["ours"]
        cells = [name, *(_cell(ours[key]) for key, _heading in PROFILE_COLUMNS)]
        if baseline:
            base = groups.get("baseline")
            cells += [_cell(base["f1_macro"]) if base else "", str(groups.get("lost", ""))]
        table.add_row(*cells)
    return table


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "—" if value is None else str(value)


def print_report(console: Console, results: Sequence[CaseResult], data: dict) -> None:
    console.print(pages_table(results))
    for r in results:
        if r.ours.leaks:
            console.print(f"[red]{r.case.id} leaks:[/red] " +
                          "; ".join(repr(s) for s in r.ours.leaks))
        if r.error:
            console.print(f"[red]{r.case.id}: extraction raised {r.error}[/red]")
        if r.why:
            lost = " (trafilatura found one)" if r.lost else ""
            console.print(f"[yellow]{r.case.id}: no article{lost}:[/yellow] " +
                          "; ".join(r.why), markup=True, highlight=False)
    for name, by_extractor in data["sets"].items():
        console.print(summary_table(name, by_extractor))
    console.print(profiles_table(data["profiles"]))


def report(results: Sequence[CaseResult], seconds: float, workers: int) -> dict:
    return {"pages": len(results), "workers": workers, "wall_seconds": round(seconds, 2),
            "sets": summaries(results), "profiles": summaries(results, by="profile"),
            "results": [r.as_dict() for r in results]}
