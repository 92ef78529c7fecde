"""Re-extraction: today's extraction run over the raw pages the archive keeps.

When a site profile is fixed or improved, the articles extracted before are not re-fetched
(the site may have changed or dropped them): their stored pages are extracted again, and
every article whose extraction changed is updated the way a revisit updates it: the old
state becomes a version in `article_versions` with its changed fields and a diff, so
`newsarchive history` shows it; the search index and the near-duplicate fingerprint follow
in the same transaction.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlite_utils

from archive.fts import index_article
from archive.neardup import NearDuplicateIndex
from archive.pagecodec import archive_path, decompress_for_archive, decompress_page
from archive.revisions import changed_fields, record_revision
from archive.runs import now_iso
from archive.store import content_hash
from crawler.pool import extraction_pool
from pipelines.dedup import Fingerprint, fingerprint
from pipelines.types import Article

# Fields a re-extraction refreshes in place, without a version: they describe how the
# text was extracted, not what the page says (a revisit does not version them either).
REFRESHED = ("images", "lang", "profile", "template", "published_date_only")


@dataclass
class Report:
    """What a re-extraction found; `changed` and `fields` count what it wrote (or, in a
    dry run, would have written)."""

    checked: int = 0
    changed: int = 0
    unchanged: int = 0
    refreshed: int = 0  # unchanged articles whose images, lang, profile or template moved
    failed: int = 0
    fields: Counter[str] = field(default_factory=Counter)
    changes: list[dict[str, Any]] = field(default_factory=list)  # url, fields per article
    failures: list[dict[str, Any]] = field(default_factory=list)  # url, reason
    seconds: float = 0.0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "fields": dict(self.fields)}


@dataclass(frozen=True)
class Target:
    """An article and the stored page it is re-extracted from."""

    article_id: int
    url: str
    page_id: int | None


def targets(db: sqlite_utils.Database, source: str | None = None,
            since: str | None = None) -> list[Target]:
    """Each article with its newest page: of the article's own URL (what revisits fetch)
    if there is one, else of any URL that led to it (a www/m.163.com copy).

    `since`: only articles whose page was fetched at or after this ISO time (UTC).
    Reads only indexed ids and the pages' leading columns, never their bodies.
    """
    rows = db.execute(
        """select a.id, a.url, coalesce(
               (select max(p.id) from pages p where p.article_id = a.id and p.final_url = a.url),
               (select max(p.id) from pages p where p.article_id = a.id))
           from articles a where (:source is null or a.source = :source) order by a.id""",
        {"source": source}).fetchall()
    found = [Target(int(article_id), url, page_id) for article_id, url, page_id in rows]
    if since is None:
        return found
    return [t for t in found if t.page_id is not None and db.execute(
        "select fetched_at >= ? from pages where id = ?", [since, t.page_id]).fetchone()[0]]


class Reextracted(NamedTuple):
    """A stored page's extraction, from a pool worker."""

    article: Article | None
    fingerprint: Fingerprint | None
    # The text's content_hash is the stored article's: its fingerprint (from the same
    # letters: pipelines.dedup.shingles drops spaces) was not computed, and stays.
    same_text: bool = False


def extract_stored(page: bytes, codec: str | None, archive: str, url: str,
                   content_type: str | None, profile: str | None, fetched_at: str,
                   stored_hash: str | None = None) -> Reextracted:
    """A stored page's extraction and fingerprint: runs in a pool worker. `page`: the
    `pages.body` as stored (`codec`), read here with the archive's dictionaries, or the
    raw page when `codec` is None. The fingerprint (a sixth of a page's work) only for a
    text whose hash is not `stored_hash`.
    Imports the extraction here, in the worker: the `newsarchive` command imports this
    module for every subcommand, a crawl included, which does not need trafilatura."""
    from pipelines.extract import extract_article

    body = page if codec is None else decompress_for_archive(archive, page, codec)
    article = extract_article(body, url, content_type=content_type,
                              profile=profile, fetched_at=fetched_at)
    if article is None:
        return Reextracted(None, None)
    if stored_hash is not None and content_hash(article["text"]) == stored_hash:
        return Reextracted(article, None, same_text=True)
    return Reextracted(article, fingerprint(article["text"]))


def reextract(db: sqlite_utils.Database, *, source: str | None = None,
              since: str | None = None, dry_run: bool = False, workers: int = 0,
              progress: Callable[[int, int], None] | None = None) -> Report:
    """Re-extract every selected article from its newest stored page, in the process
    pool; update the changed ones (nothing is written in a dry run)."""
    started = time.monotonic()
    report = Report(dry_run=dry_run)
    todo = targets(db, source, since)
    pool = extraction_pool(workers)
    archive = archive_path(db)  # where the workers read the stored pages from
    # A bounded window of pages in flight: the archive may hold far more than memory.
    window = 4 * (workers or os.cpu_count() or 1)
    pending: deque[tuple[Target, str, Future | None]] = deque()
    near = NearDuplicateIndex(db)
    for target in _then_none(todo):
        if target is not None:
            pending.append(_submit(db, pool, archive, target))
        while pending and (target is None or len(pending) >= window):
            _settle(db, near, report, *pending.popleft())
            if progress is not None:
                progress(report.checked, len(todo))
    if not dry_run and near.fold_due():  # as a crawl folds what it indexed
        near.fold()
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _then_none(items: list[Target]) -> Iterator[Target | None]:
    yield from items
    yield None  # the end: drain what is still in flight


def _submit(db: sqlite_utils.Database, pool: Any, archive: str, target: Target,
            ) -> tuple[Target, str, Future | None]:
    if target.page_id is None:
        return target, "", None
    (blob, codec, url, content_type, profile, fetched_at, article_profile,
     stored_hash) = db.execute(
        "select p.body, p.codec, p.final_url, p.content_type, p.profile, p.fetched_at, "
        "a.profile, a.content_hash "
        "from pages p join articles a on a.id = p.article_id where p.id = ?",
        [target.page_id]).fetchone()
    if profile is None:
        # A page stored before the profile was recorded: the article says which profile
        # extracted it then, unless that was the generic path (then the host decides).
        profile = article_profile if article_profile != "generic" else None
    if not archive:  # an archive in memory: no worker can open it, so read the page here
        blob, codec = decompress_page(db, (blob, codec)), None
    future = pool.submit(extract_stored, blob, codec, archive, url, content_type, profile,
                         fetched_at, stored_hash)
    return target, fetched_at, future


def _settle(db: sqlite_utils.Database, near: NearDuplicateIndex, report: Report,
            target: Target, fetched_at: str, future: Future | None) -> None:
    report.checked += 1
    reason = None
    if future is None:
        reason = "no stored page"
    else:
        try:
            fresh, print_, same_text = future.result()
        except Exception as exc:  # one hostile page must not end the run
            reason = f"extraction failed: {type(exc).__name__}: {exc}"[:300]
        else:
            if fresh is None:
                reason = "no article found in the stored page"
    if reason is not None:
        report.failed += 1
        report.failures.append({"url": target.url, "reason": reason})
        return
    changes, refreshed = update_article(db, near, target.article_id, fresh, print_,
                                        fetched_at, dry_run=report.dry_run,
                                        same_text=same_text)
    if changes:
        report.changed += 1
        report.fields.update(changes)
        report.changes.append({"url": target.url, "fields": changes})
    else:
        report.unchanged += 1
        report.refreshed += bool(refreshed)


def update_article(db: sqlite_utils.Database, near: NearDuplicateIndex, article_id: int,
                   fresh: Article, print_: Fingerprint | None, fetched_at: str, *,
                   dry_run: bool = False, same_text: bool = False,
                   ) -> tuple[list[str], dict[str, Any]]:
    """Bring one article in line with its fresh extraction, in one transaction: (the
    versioned fields that changed, the refreshed fields that moved). `same_text`: the
    text has the stored one's content hash, so its fingerprint (not given) is unchanged."""
    with near.writing():
        cursor = db.execute("select * from articles where id = ?", [article_id])
        stored = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
        changes = changed_fields(stored, fresh)
        values = {**{name: fresh[name] for name in REFRESHED},  # type: ignore[literal-required]
                  "images": json.dumps(fresh["images"], ensure_ascii=False)}
        refreshed = {name: value for name, value in values.items() if stored[name] != value}
        if dry_run or not (changes or refreshed):
            return changes, refreshed
        if changes:
            record_revision(db, stored, fresh, content_hash(fresh["text"]), now_iso())
            # record_revision stamps fetched_at with the time of the change; the text is
            # still that of the page fetched then.
            refreshed["fetched_at"] = fetched_at
        if refreshed:
            db["articles"].update(article_id, refreshed)
        if {"title", "text"} & set(changes):
            index_article(db, article_id, previous=(stored["title"], stored["text"]))
        if "text" in changes and not same_text:
            if print_ is not None:
                near.index(article_id, print_)
            else:  # now too short to compare: an old fingerprint would match wrongly
                near.unindex(article_id)
    return changes, refreshed
