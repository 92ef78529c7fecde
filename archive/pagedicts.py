"""When and how a site's page dictionary is trained (the codec itself: archive/pagecodec.py).

Once TRAIN_AFTER of a site's pages are archived and it has no dictionary,
ArchiveWriter.store trains one on the newest of them (`train_site_dictionary`, or
`DictionaryTrainer` in a thread during a crawl), keeps it in `page_dicts` and re-stores
that site's `zstd` pages with it. When the pages stored with it drift away from it, a new
one is trained for the pages to come.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlite_utils
from backports import zstd
from backports.zstd import _zstd

from archive.pagecodec import (
    DICT_PREFIX,
    LEVEL,
    Db,
    codec_dict_id,
    decompress_page,
    remember_for_writing,
    site_dictionary,
    site_of,
)

TRAIN_AFTER = 100  # a site's pages archived before its dictionary is trained
SAMPLES = 100  # the newest pages of the site it is trained on
MAX_DICT_SIZE = 512 * 1024
# zstd's trainer fails (a poor dictionary of ~120 KB) when asked for more than ~1/40 of
# the sample's bytes; 1/50 leaves a margin.
SAMPLE_BYTES_PER_DICT_BYTE = 50
MIN_DICT_SIZE = 4 * 1024  # sites whose pages are tiny get no dictionary
# A site's pages drift away from its dictionary (hot lists, recommendations, templates
# change): a new one is trained when the pages stored with it lately are RETRAIN_WORSE
# times the size, for their raw size, of its first BASELINE pages; not before
# RETRAIN_AFTER pages with it, so a dictionary (512 KB) costs at most ~1 KB a page.
BASELINE = 100
RETRAIN_AFTER = 500
RETRAIN_WORSE = 1.25


def site_page_ids(db: Db, site: str) -> list[int]:
    """Ids of the site's pages, oldest first: from the index on `pages.url` alone."""
    ids: list[int] = []
    for scheme in ("http", "https"):
        prefix = f"{scheme}://{site}/"
        ids += [row[0] for row in db.execute(
            "select id from pages where url >= ? and url < ?", [prefix, prefix[:-1] + "0"])]
    return sorted(ids)


def plain_pages(db: Db, site: str) -> list[tuple[int, bytes]]:
    """(id, body) of the site's pages stored as plain zstd: found with the partial index
    pages_zstd_plain (the pages without a dictionary are few), never by reading `codec`
    from every row (it comes after the body, in its overflow pages)."""
    found: list[tuple[int, bytes]] = []
    for scheme in ("http", "https"):
        prefix = f"{scheme}://{site}/"
        found += db.execute(
            "select id, body from pages indexed by pages_zstd_plain "
            "where codec = 'zstd' and url >= ? and url < ?",
            [prefix, prefix[:-1] + "0"]).fetchall()
    return found


def train_site_dictionary(db: sqlite_utils.Database, site: str,
                          replacing: int | None = None) -> int | None:
    """Train the site's dictionary on its newest SAMPLES pages once it has TRAIN_AFTER
    pages and no dictionary; store it and re-store the site's `zstd` pages with it.
    Its id, or None when there was nothing to do or too little to train on.
    `replacing`: the site's current dictionary, which has gone stale (ArchiveWriter):
    a new one is trained for the pages to come; the pages stored keep theirs.

    Reads and trains outside any transaction (about a second for 100 pages of 270 KB),
    then writes in one short one. DictionaryTrainer(background=True) runs the same three
    steps with the training in a thread."""
    sampled = training_samples(db, site, replacing)
    if sampled is None:
        return None
    trained = train_dictionary(sampled)
    pages = sampled.pages
    del sampled
    return None if trained is None else store_site_dictionary(db, site, replacing, trained,
                                                              pages)


class Samples(NamedTuple):
    """The pages a dictionary is trained on, joined as they are read: zstd's trainer takes
    them so, and a list of pages beside its joined copy made a training's peak 68 MB of
    the crawl process's memory instead of 42 (bench/README.md, "Memory")."""

    pages: int
    joined: bytes
    sizes: tuple[int, ...]


def training_samples(db: Db, site: str, replacing: int | None = None) -> Samples | None:
    """The pages to train the site's dictionary on, or None when the site has a
    dictionary other than `replacing` or too few pages."""
    if site_dictionary(db, site) != replacing:
        return None
    ids = site_page_ids(db, site)
    if len(ids) < TRAIN_AFTER:
        return None
    chosen = ids[-SAMPLES:]
    buffer, sizes = io.BytesIO(), []
    for row in _bodies(db, chosen):
        page = decompress_page(db, row)
        buffer.write(page)
        sizes.append(len(page))
    return Samples(len(chosen), buffer.getvalue(), tuple(sizes))  # getvalue(): no copy


def train_dictionary(samples: Samples) -> bytes | None:
    """A zstd dictionary's content trained on `samples`, or None when they are too small.
    Touches no database: zstd releases the GIL while it trains, so a thread can run it.

    Calls the trainer under zstd.train_dict (the same dictionary, tested), which takes
    the pages joined: train_dict joins a list of them itself, a second copy."""
    size = min(MAX_DICT_SIZE, len(samples.joined) // SAMPLE_BYTES_PER_DICT_BYTE)
    if size < MIN_DICT_SIZE:
        return None
    try:
        return _zstd.train_dict(samples.joined, samples.sizes, size)
    except zstd.ZstdError:
        return None
    finally:
        _trim_heap()


def store_site_dictionary(db: sqlite_utils.Database, site: str, replacing: int | None,
                          trained: bytes, pages: int) -> int | None:
    """Keep a trained dictionary for the site and re-store its `zstd` pages with it, in
    one transaction. None when the site's dictionary is no longer `replacing`."""
    from archive.transactions import write_transaction

    zdict = zstd.ZstdDict(trained)
    with write_transaction(db):
        if site_dictionary(db, site) != replacing:  # another process was quicker
            return None
        cursor = db.execute(
            "insert into page_dicts (site, created_at, pages, size, dict) "
            "values (?, ?, ?, ?, ?)",
            [site, datetime.now(UTC).isoformat(timespec="seconds"), pages, len(trained),
             trained])
        dict_id = int(cursor.lastrowid)
        codec = f"{DICT_PREFIX}{dict_id}"
        digested = zdict.as_digested_dict
        for page_id, body in plain_pages(db, site):
            db.execute("update pages set body = ?, codec = ? where id = ?",
                       [zstd.compress(zstd.decompress(body), LEVEL, zstd_dict=digested),
                        codec, page_id])
    remember_for_writing(db, site, dict_id, zdict)
    return dict_id


class DictionaryTrainer:
    """When to train a site's page dictionary: once it has enough pages, and again when its
    pages have drifted away from it. One per writer connection (ArchiveWriter)."""

    def __init__(self, db: sqlite_utils.Database, background: bool = False) -> None:
        self.db = db
        # background: train in a thread (the crawl's reactor thread must not stop for the
        # second a training takes); the result is stored at a later page or at finish().
        self._executor = ThreadPoolExecutor(1, "page-dict") if background else None
        # site -> (the training, the dictionary it replaces, pages chosen, pages counted)
        self._running: dict[str, tuple[Future[bytes | None], int | None, int, int]] = {}
        # Sites without a page dictionary: pages counted so far and the count at which
        # to train one (TRAIN_AFTER, more after a failure).
        self._training: dict[str, tuple[int, int]] = {}
        # Sites with one: [its id, pages stored with it, mean size ratio of its first
        # pages, moving average of the latest], to train another when they drift.
        self._drift: dict[str, list[Any]] = {}

    def page_stored(self, url: str, stored: int, raw: int, codec: str) -> None:
        """Train the site's page dictionary once it has enough pages, and a new one when
        its pages have drifted away from it.

        A site's pages are counted once from the index, then one by one as they are
        stored here: a store costs the same whatever the number of pages the site has."""
        self._collect()
        site = site_of(url)
        if not site:
            return
        dict_id = codec_dict_id(codec)
        if dict_id is not None:
            self._watch_drift(site, dict_id, stored / max(raw, 1))
            return
        state = self._training.get(site)
        if state is None:
            count, due = len(site_page_ids(self.db, site)), TRAIN_AFTER
        else:
            count, due = state[0] + 1, state[1]
        if count < due or site in self._running:
            self._training[site] = (count, due)
        elif self._executor is not None:
            self._start(site, None, count)
        else:
            self._trained(site, train_site_dictionary(self.db, site), count)

    def finish(self) -> None:
        """Wait for the trainings under way and store what they made (a writer's end)."""
        self._collect(wait=True)
        if self._executor is not None:
            self._executor.shutdown()

    def _trained(self, site: str, dict_id: int | None, count: int) -> None:
        if dict_id is None:
            self._training[site] = (count, 2 * count)  # too little to train on: later
        else:
            self._training.pop(site, None)

    def _start(self, site: str, replacing: int | None, count: int) -> None:
        """Read the samples here (this connection), train in the thread."""
        assert self._executor is not None
        sampled = training_samples(self.db, site, replacing)
        if sampled is None:
            if replacing is None:
                self._trained(site, None, count)
            return
        future = self._executor.submit(train_dictionary, sampled)
        self._running[site] = (future, replacing, sampled.pages, count)

    def _collect(self, wait: bool = False) -> None:
        """Store the dictionaries the thread has trained (all of them, waiting, if `wait`)."""
        for site, (future, replacing, pages, count) in list(self._running.items()):
            if not (wait or future.done()):
                continue
            del self._running[site]
            trained = future.result()
            dict_id = None if trained is None else store_site_dictionary(
                self.db, site, replacing, trained, pages)
            if replacing is None:
                self._trained(site, dict_id, count)

    def _watch_drift(self, site: str, dict_id: int, ratio: float) -> None:
        """Follow how well the site's dictionary compresses the pages stored with it:
        the mean ratio of its first pages, then a moving average of the latest."""
        watch = self._drift.get(site)
        if watch is None or watch[0] != dict_id:
            watch = self._drift[site] = [dict_id, 0, 0.0, 0.0]
        watch[1] += 1
        pages = watch[1]
        if pages <= BASELINE:
            watch[2] += (ratio - watch[2]) / pages
            watch[3] = watch[2]
            return
        watch[3] += (ratio - watch[3]) / 50
        if pages >= RETRAIN_AFTER and watch[3] > RETRAIN_WORSE * watch[2]:
            watch[1] = -10 * RETRAIN_AFTER  # failed or not, not again soon
            if self._executor is not None:
                self._start(site, dict_id, 0)
            else:
                train_site_dictionary(self.db, site, replacing=dict_id)


def _trim_heap() -> None:
    """Give the training's ~60 MB (the pages and zstd's copy of them) back to the system:
    freed, they would otherwise stay in the crawl process's heap (glibc) for good."""
    with contextlib.suppress(AttributeError, OSError):  # not glibc: nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def _bodies(db: Db, ids: list[int]) -> list[tuple[bytes, str]]:
    marks = ", ".join("?" * len(ids))
    return [(body, codec) for body, codec in db.execute(
        f"select body, codec from pages where id in ({marks}) and body is not null", ids)]
