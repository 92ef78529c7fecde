"""Pages with ground truth, read from the three layouts `newsarchive eval` understands.

- the project's fixtures: ``<group>/<case>/{page.html, response.json, truth.json}``
  (docs/fixtures.md); body = truth ``text``, leaks = ``not_in_text``;
- corpus-builder pages (netease-dev): ``<page>.html[.gz]`` next to ``<page>.gt.json``;
  body = ``body_text_full``, leaks = ``boilerplate_must_not_appear``;
- the scrapinghub benchmark: ``ground-truth.json`` ({sha256: {url, articleBody}}) and
  ``html/<sha256>.html.gz``; body only.

A path may be any directory above these (it is walked), one of them, or one case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvalCase:
    """One page and its truth. Holds the path, not the bytes: workers read the page."""

    id: str  # stable across runs and starting paths: the key of the quality floors
    set: str  # "fixtures", "netease-dev", "scrapinghub"
    page: Path
    url: str
    truth_text: str
    truth_title: str | None = None
    truth_published: str | None = None
    boilerplate: tuple[str, ...] = ()
    # None: no truth to score against; "": the truth is that the page credits nobody
    truth_author: str | None = None
    truth_publisher: str | None = None
    content_type: str | None = None
    fetched_at: str | None = None


class EvalSetError(ValueError):
    """A path that holds no page with ground truth, or a broken truth file."""


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalSetError(f"{path}: {exc}") from None


def fixture_case(case_dir: Path) -> EvalCase:
    truth, response = _json(case_dir / "truth.json"), _json(case_dir / "response.json")
    headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
    return EvalCase(
        id=f"{case_dir.parent.name}/{case_dir.name}", set="fixtures",
        page=case_dir / "page.html", url=response["url"], truth_text=truth["text"],
        truth_title=truth.get("title"), truth_published=truth.get("published_at"),
        boilerplate=tuple(truth.get("not_in_text", ())),
        truth_author=_credit(truth, "author"), truth_publisher=_credit(truth, "publisher"),
        content_type=headers.get("content-type"), fetched_at=response.get("fetched_at"),
    )


def _credit(truth: dict, key: str) -> str | None:
    """A fixture's author or publisher truth: absent is no truth, null is "nobody"."""
    if key not in truth:
        return None
    return truth[key] or ""


def _gt_set_name(pages_dir: Path) -> str:
    # netease-dev/pages/ -> "netease-dev": "pages" says nothing.
    return pages_dir.parent.name if pages_dir.name == "pages" else pages_dir.name


def _flatten(value: object) -> Iterator[str]:
    """`boilerplate_must_not_appear` is {category: [strings]}; accept a plain list too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
    elif isinstance(value, list):
        for item in value:
            yield from _flatten(item)


def gt_case(gt_path: Path) -> EvalCase:
    stem = gt_path.name.removesuffix(".gt.json")
    pages = [gt_path.with_name(stem + ext) for ext in (".html", ".html.gz", ".htm")]
    page = next((p for p in pages if p.is_file()), None)
    if page is None:
        raise EvalSetError(f"{gt_path}: no {stem}.html or {stem}.html.gz next to it")
    truth = _json(gt_path)
    return EvalCase(
        id=f"{_gt_set_name(gt_path.parent)}/{stem}", set=_gt_set_name(gt_path.parent),
        page=page, url=truth["url"], truth_text=truth["body_text_full"],
        truth_title=truth.get("title"), truth_published=truth.get("published"),
        boilerplate=tuple(_flatten(truth.get("boilerplate_must_not_appear", {}))),
        truth_publisher=truth.get("source_name") or None,  # the 来源 outlet credited
    )


def scrapinghub_cases(corpus: Path, only: str | None = None) -> list[EvalCase]:
    truth = _json(corpus / "ground-truth.json")
    cases = []
    for sha, item in sorted(truth.items()):
        if only is not None and sha != only:
            continue
        page = corpus / "html" / f"{sha}.html.gz"
        if not page.is_file():
            continue  # ground truth without its page: nothing to score
        cases.append(EvalCase(id=f"scrapinghub/{sha[:12]}", set="scrapinghub", page=page,
                              url=item["url"], truth_text=item["articleBody"]))
    return cases


def _is_scrapinghub(path: Path) -> bool:
    return (path / "ground-truth.json").is_file() and (path / "html").is_dir()


def _single_file(path: Path) -> list[EvalCase]:
    if path.name in ("page.html", "truth.json", "response.json", "expected.json"):
        return discover(path.parent)
    if path.name.endswith(".gt.json"):
        return [gt_case(path)]
    stem = path.name.split(".")[0]
    if (path.parent / f"{stem}.gt.json").is_file():
        return [gt_case(path.parent / f"{stem}.gt.json")]
    if path.parent.name == "html" and _is_scrapinghub(path.parent.parent):
        cases = scrapinghub_cases(path.parent.parent, only=stem)
        if cases:
            return cases
    raise EvalSetError(f"{path}: no ground truth for this page")


def discover(path: Path) -> list[EvalCase]:
    """Every case under `path`, in a stable order. Directories that match a layout are
    read as that layout; others are walked (so a folder of corpora works)."""
    if path.is_file():
        return _single_file(path)
    if not path.is_dir():
        raise EvalSetError(f"{path}: no such file or directory")
    if (path / "truth.json").is_file():
        return [fixture_case(path)]
    if _is_scrapinghub(path):
        return scrapinghub_cases(path)
    gts = sorted(path.glob("*.gt.json"))
    if gts:
        return [gt_case(gt) for gt in gts]
    cases: list[EvalCase] = []
    for child in sorted(path.iterdir()):
        if child.is_dir() and not child.name.startswith((".", "_")):
            cases.extend(discover(child))
    return cases
