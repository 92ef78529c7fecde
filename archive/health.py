"""Extraction health: what is recorded about each page's extraction when it is stored, and
the thresholds `newsarchive stats` judges a run by (the figures: archive/queries.py).

A site that changes its markup does not make the crawl fail: the profile's templates stop
matching and pages fall back to generic extraction, or lose their date or author, or come
out short. Recording that per page makes the change visible in the next run's figures.
"""

from __future__ import annotations

from typing import Any

from pipelines.sites import profile_for
from pipelines.types import Article

# A body shorter than this many characters is counted as short: a NetEase article is
# rarely under 200 characters, a page cut to its lead paragraph or a notice usually is.
SHORT_TEXT = 200
# A share that rises by more than this (a fraction: 0.2 is 20 percentage points) over the
# average of the previous runs is flagged.
JUMP = 0.20
# Runs with fewer articles than this are not judged: one page without an author would be
# a 100% share.
MIN_ARTICLES = 3
# How many earlier runs make the baseline.
BASELINE_RUNS = 10


def chosen_profile(url: str, profile: str | None) -> str:
    """The profile a page was extracted with, as extraction chooses it: the one named (the
    seeds' `profile`), else the one serving the URL's host; "generic" when none does."""
    site = profile_for(url, profile)
    return site.name if site is not None else "generic"


def page_extraction(url: str, profile: str | None, article: Article | None) -> dict[str, Any]:
    """The `pages` columns describing a page's extraction (archive/migrations.py m004)."""
    record: dict[str, Any] = {"profile": chosen_profile(url, profile)}
    if article is not None:
        record.update({
            "template": article["template"],
            "has_date": int(bool(article["published_at"])),
            "has_author": int(bool(article["author"])),
            "text_chars": len(article["text"]),
        })
    return record
