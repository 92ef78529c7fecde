"""What an extraction worker process does with one page: everything CPU-heavy about it.

Kept apart from crawler/itempipelines.py (the Scrapy pipelines) so that the worker processes
import only what extraction needs: not Scrapy, Twisted or the archive writer's callers;
and the crawl process does not import it (it hands pages over by crawler.pool's
run_extraction), so that it does not hold trafilatura, lxml or rensa.
"""

from __future__ import annotations

from typing import NamedTuple

from archive.fts import segment
from archive.pagecodec import compress_for_archive
from pipelines.dedup import Fingerprint, fingerprint
from pipelines.extract import extract_article
from pipelines.types import Article


class Extracted(NamedTuple):
    """A page's extraction, ready for ArchiveWriter.store."""

    article: Article | None
    fingerprint: Fingerprint | None
    segmented: tuple[str, str] | None  # (segment(title), segment(text)) for the FTS index
    body_blob: bytes  # the page as `pages.body` stores it
    body_codec: str  # and how: `pages.codec` (archive/pagecodec.py)
    # segment() of the `previous` (title, text) given: a revisit's stored article, whose
    # index entry a revision replaces (archive.fts.index_article's `presegmented`)
    previous_segmented: tuple[str, str] | None = None


def extract_and_fingerprint(body: bytes, url: str, content_type: str | None,
                            profile: str | None, fetched_at: str, archive: str | None = None,
                            site: str | None = None,
                            previous: tuple[str | None, str | None] | None = None,
                            ) -> Extracted:
    """Extract, fingerprint, segment for search and compress the page, in one call to a
    worker process. The compressed page goes back instead of the page: a twentieth of
    the bytes to pickle. `archive` (its path) and `site` (pagecodec.site_of of the page's
    URL): compress with the site's dictionary in that archive, if it has one.
    `previous`: the stored (title, text) of the article a revisit fetches again, to
    segment too."""
    article = extract_article(body, url, content_type=content_type, profile=profile,
                              fetched_at=fetched_at)
    blob, codec = compress_for_archive(archive, site, body)
    if article is None:
        return Extracted(None, None, None, blob, codec)
    before = (segment(previous[0]), segment(previous[1])) if previous else None
    return Extracted(article, fingerprint(article["text"]),
                     (segment(article["title"]), segment(article["text"])), blob, codec,
                     before)


def warm_up() -> None:
    """Load what the first page would otherwise wait for: jieba's dictionary, and the
    search fold's tables (OpenCC's, and the pattern of the characters NFKC changes)."""
    from archive.fts import tokenizer
    from archive.textfold import load_tables

    tokenizer()
    load_tables()
