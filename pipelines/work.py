"""What an extraction worker process does with one page: everything CPU-heavy about it.

Kept apart from pipelines/crawl.py (the Scrapy pipelines) so that the worker processes
import only what extraction needs: not Scrapy, Twisted or the archive writer's callers.
"""

from __future__ import annotations

from typing import NamedTuple

from archive.fts import segment
from archive.store import compress
from pipelines.dedup import Fingerprint, fingerprint
from pipelines.extract import extract_article
from pipelines.types import Article


class Extracted(NamedTuple):
    """A page's extraction, ready for ArchiveWriter.store."""

    article: Article | None
    fingerprint: Fingerprint | None
    segmented: tuple[str, str] | None  # (segment(title), segment(text)) for the FTS index
    body_blob: bytes  # compress(body): what `pages.body` stores


def extract_and_fingerprint(body: bytes, url: str, content_type: str | None,
                            profile: str | None, fetched_at: str) -> Extracted:
    """Extract, fingerprint, segment for search and compress the page, in one call to a
    worker process. The compressed page goes back instead of the page: a fifth of the
    bytes to pickle."""
    article = extract_article(body, url, content_type=content_type, profile=profile,
                              fetched_at=fetched_at)
    if article is None:
        return Extracted(None, None, None, compress(body))
    return Extracted(article, fingerprint(article["text"]),
                     (segment(article["title"]), segment(article["text"])), compress(body))


def warm_up() -> None:
    """Load what the first page would otherwise wait for (jieba's dictionary)."""
    from archive.fts import tokenizer

    tokenizer()
