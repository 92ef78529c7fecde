"""The plain data objects that travel between the stages.

Each stage takes and returns one of these, so each can be tested alone:
fixture bytes in, a dict out.
"""

from __future__ import annotations

from typing import TypedDict


class Image(TypedDict):
    url: str
    caption: str | None


class Article(TypedDict):
    """What extraction makes of one article page (the `articles` row minus bookkeeping)."""

    url: str  # the URL the page was fetched from
    canonical_url: str  # one URL per article, whatever form it was reached by
    title: str | None
    author: str | None  # byline or 网易号 account
    publisher: str | None  # 来源: the outlet credited as the source
    published_at: str | None  # ISO 8601 with offset, e.g. 2025-11-14T07:16:49+08:00
    # True when the page gives a day without a time: published_at is then "2019-06-12"
    published_date_only: bool
    text: str  # the body, one paragraph a line
    images: list[Image]
    lang: str | None
    site: str  # registrable domain of the canonical URL, e.g. 163.com
    profile: str  # the site profile used, "generic" for plain trafilatura
    template: str | None  # the profile's template that matched, e.g. "post2020"
