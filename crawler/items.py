"""What the spider hands to the pipelines: a fetched article page, or a failure."""

from __future__ import annotations

from dataclasses import dataclass, field

from archive.store import FetchedPage
from pipelines.types import Article


@dataclass
class PageItem:
    """A fetched article page; ExtractPipeline fills `article` (None: no article in it)."""

    source: str
    profile: str | None
    page: FetchedPage
    article: Article | None = None
    extract_error: str | None = field(default=None)
    outcome: str | None = None  # set by StorePipeline: new, duplicate or not-article


@dataclass
class FailureItem:
    """A URL that could not be fetched or used, with the reason."""

    source: str
    url: str
    reason: str
    status: int | None = None
