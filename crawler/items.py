"""What the spider hands to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass

from archive.store import FetchedPage
from pipelines.dedup import Fingerprint
from pipelines.types import Article


@dataclass
class PageItem:
    """A fetched article page. ExtractPipeline fills `article` (None: no article in it),
    `fingerprint`, `segmented`, `body_blob` and `body_codec`; StorePipeline sets
    `outcome`."""

    source: str
    profile: str | None
    page: FetchedPage
    revisit: bool = False  # a scheduled re-fetch of an archived article
    article: Article | None = None
    fingerprint: Fingerprint | None = None
    segmented: tuple[str, str] | None = None  # segmented title and text, for the FTS index
    body_blob: bytes | None = None  # the page compressed as the archive stores it
    body_codec: str | None = None  # how: `pages.codec` (archive/pagecodec.py)
    # A revisit: the archived article's (title, text) and their segmented form, so that
    # a revision replaces its search index entry without segmenting in the crawl process.
    previous_segmented: tuple[tuple[str | None, str | None], tuple[str, str]] | None = None
    extract_error: str | None = None
    outcome: str | None = None


@dataclass
class FailureItem:
    """A URL that could not be fetched or used, with the reason."""

    source: str
    url: str
    reason: str
    status: int | None = None


@dataclass
class RemovedItem:
    """A revisited article that is gone: 404/410, or redirected away from any article."""

    source: str
    url: str
    reason: str


@dataclass
class ListingItem:
    """A listing (HTML, JSONP, feed, sitemap) was read: its validators for the next run,
    kept only once every article it links is settled (StorePipeline)."""

    source: str
    url: str
    status: int
    etag: str | None
    last_modified: str | None
    links: tuple[str, ...] = ()  # the article URLs it links, as requested
    children: tuple[str, ...] = ()  # its next pages or sub-sitemaps


@dataclass
class AliasItem:
    """A newly seen URL of an archived article, recorded without fetching it again."""

    source: str
    url: str
    canonical_url: str
