"""Scoring extraction against ground truth: pure functions, no I/O.

Body: bag-of-tokens precision / recall / F1, the measure upstream benchmarks use, with a
token that works for Chinese as well as English: one CJK character, or one run of letters
and digits, case-folded. Chinese has no spaces, so words cannot be the unit; characters
are what a reader would count as missing or extra.

Title: exact match after whitespace normalisation. Date: the same instant, and for
NetEase pages also the +08:00 offset the site publishes in (a UTC timestamp of the right
instant is still a wrong value to archive for a Beijing newsroom). Leaks: boilerplate
strings from the ground truth that reached the extracted text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

# Han (with extension A, B-F and compatibility ideographs), kana and Hangul syllables.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0003134f"
)
# [^\W_] is "a letter or digit" in Unicode; the lookahead keeps CJK out of the runs.
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+")
_SPACE = re.compile(r"\s+")
BEIJING = timezone(timedelta(hours=8))


def tokens(text: str | None) -> list[str]:
    """The tokens of `text`: each CJK character alone, each letter/digit run, case-folded.

    NFC first, so a decomposed "é" (e + combining accent) stays inside its word.
    """
    if not text:
        return []
    return _TOKEN.findall(unicodedata.normalize("NFC", text).casefold())


@dataclass(frozen=True)
class Overlap:
    """Token counts of one comparison; summing them gives the micro average."""

    predicted: int
    truth: int
    common: int

    def __add__(self, other: Overlap) -> Overlap:
        return Overlap(self.predicted + other.predicted, self.truth + other.truth,
                       self.common + other.common)

    @property
    def precision(self) -> float:
        # Nothing predicted is perfectly precise only when nothing was expected either.
        return self.common / self.predicted if self.predicted else float(not self.truth)

    @property
    def recall(self) -> float:
        return self.common / self.truth if self.truth else float(not self.predicted)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def overlap(predicted: str | None, truth: str | None) -> Overlap:
    """Bag-of-tokens overlap: each token counts as often as it occurs in both texts."""
    pred, gold = Counter(tokens(predicted)), Counter(tokens(truth))
    return Overlap(sum(pred.values()), sum(gold.values()), sum((pred & gold).values()))


def normalize_space(text: str | None) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def title_ok(predicted: str | None, truth: str | None) -> bool | None:
    """Exact title match after whitespace normalisation; None when there is no truth."""
    if truth is None:
        return None
    return normalize_space(predicted) == normalize_space(truth)


def is_netease(url: str | None) -> bool:
    host = (urlsplit(url or "").hostname or "").lower()
    return host == "163.com" or host.endswith(".163.com")


def parse_when(value: str | None, naive_tz: timezone | None = None) -> datetime | None:
    """An ISO 8601 (or "YYYY-MM-DD HH:MM:SS") string as a datetime; naive ones get
    `naive_tz` when given. None when absent or unparseable."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None and naive_tz is not None:
        when = when.replace(tzinfo=naive_tz)
    return when


def credit_ok(predicted: str | None, truth: str | None) -> bool | None:
    """An author or publisher: exact after whitespace normalisation; None when there is
    no truth. An empty truth says the page credits nobody: only no credit matches."""
    if truth is None:
        return None
    return normalize_space(predicted) == normalize_space(truth)


def _is_day(value: str | None) -> bool:
    return bool(value) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) is not None


def date_ok(predicted: str | None, truth: str | None, url: str | None = None) -> bool | None:
    """Same instant as the truth (and +08:00 on NetEase); None when there is no truth.

    A naive truth on a NetEase page is Beijing time (the corpus copies the page's
    "2019-09-07 13:43:45"); a naive prediction never matches: its instant is unknown.
    A truth that is a day alone ("2019-06-12") asks for that day; a day alone where the
    truth has a time is not the instant.
    """
    if _is_day(truth):
        return same_day(predicted, truth, url)
    if _is_day(predicted):
        return None if parse_when(truth) is None else False
    netease = is_netease(url)
    gold = parse_when(truth, BEIJING if netease else None)
    if gold is None:
        return None
    got = parse_when(predicted)
    if got is None or got.tzinfo is None or gold.tzinfo is None:
        return False
    if netease and got.utcoffset() != timedelta(hours=8):
        return False
    return got == gold


def same_day(predicted: str | None, truth: str | None, url: str | None = None) -> bool | None:
    """The truth's calendar day, in the truth's own time zone: a looser check, for
    extractors (bare trafilatura) that only report a day."""
    gold = parse_when(truth, BEIJING if is_netease(url) else None)
    if gold is None:
        return None
    got = parse_when(predicted)
    if got is None:
        return False
    if got.tzinfo is not None and gold.tzinfo is not None:
        got = got.astimezone(gold.tzinfo)
    return got.date() == gold.date()


def _squeeze(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).split())


def leaks(text: str | None, boilerplate: Iterable[str], truth_text: str | None = None
          ) -> list[str]:
    """The boilerplate strings present in `text`, ignoring whitespace (extractors split
    and join lines differently). A string the true body itself contains is skipped: its
    presence proves nothing."""
    body, gold = _squeeze(text or ""), _squeeze(truth_text or "")
    found = []
    for string in boilerplate:
        needle = _squeeze(string)
        if needle and needle in body and needle not in gold:
            found.append(string)
    return found


@dataclass(frozen=True)
class PageScore:
    """One extractor's result on one page."""

    found: bool  # the extractor returned something
    body: Overlap
    title_ok: bool | None
    date_ok: bool | None
    day_ok: bool | None
    leaks: tuple[str, ...]
    seconds: float = 0.0
    author_ok: bool | None = None
    publisher_ok: bool | None = None

    def as_dict(self) -> dict:
        return {
            "found": self.found, "precision": round(self.body.precision, 4),
            "recall": round(self.body.recall, 4), "f1": round(self.body.f1, 4),
            "tokens": {"predicted": self.body.predicted, "truth": self.body.truth,
                       "common": self.body.common},
            "title_ok": self.title_ok, "date_ok": self.date_ok, "day_ok": self.day_ok,
            "author_ok": self.author_ok, "publisher_ok": self.publisher_ok,
            "leaks": list(self.leaks), "seconds": round(self.seconds, 3),
        }


def score_page(*, text: str | None, title: str | None, published: str | None,
               truth_text: str, truth_title: str | None, truth_published: str | None,
               boilerplate: Sequence[str] = (), url: str | None = None,
               found: bool = True, seconds: float = 0.0, author: str | None = None,
               publisher: str | None = None, truth_author: str | None = None,
               truth_publisher: str | None = None) -> PageScore:
    return PageScore(
        found=found, body=overlap(text, truth_text),
        title_ok=title_ok(title, truth_title),
        date_ok=date_ok(published, truth_published, url),
        day_ok=same_day(published, truth_published, url),
        leaks=tuple(leaks(text, boilerplate, truth_text)), seconds=seconds,
        author_ok=credit_ok(author, truth_author),
        publisher_ok=credit_ok(publisher, truth_publisher),
    )


def _rate(values: Iterable[bool | None]) -> float | None:
    counted = [v for v in values if v is not None]
    return sum(counted) / len(counted) if counted else None


def summarize(scores: Sequence[PageScore]) -> dict:
    """Overall figures: macro F1 (the mean of per-page F1, as upstream benchmarks
    report), micro P/R/F1 (from summed token counts), match rates over the pages that
    have that truth, and the number of leaked strings."""
    total = sum((s.body for s in scores), Overlap(0, 0, 0))
    n = len(scores)

    def mean(values: list[float]) -> float:
        return round(sum(values) / n, 4) if n else 0.0

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {
        "pages": n, "found": sum(s.found for s in scores),
        "f1_macro": mean([s.body.f1 for s in scores]),
        "precision_macro": mean([s.body.precision for s in scores]),
        "recall_macro": mean([s.body.recall for s in scores]),
        "f1_micro": round(total.f1, 4), "precision_micro": round(total.precision, 4),
        "recall_micro": round(total.recall, 4),
        "title_rate": rounded(_rate(s.title_ok for s in scores)),
        "date_rate": rounded(_rate(s.date_ok for s in scores)),
        "day_rate": rounded(_rate(s.day_ok for s in scores)),
        "author_rate": rounded(_rate(s.author_ok for s in scores)),
        "publisher_rate": rounded(_rate(s.publisher_ok for s in scores)),
        "leaks": sum(len(s.leaks) for s in scores),
        "seconds": round(sum(s.seconds for s in scores), 3),
    }
