"""How raw pages are stored: zstd with a dictionary trained on the site's own pages.

A site's pages share most of their bytes with each other (template, inline CSS and
scripts, the hot lists), which a compressor only sees when it is given them beforehand:
on NetEase-like pages of ~270 KB, zlib stores ~49 KB, zstd alone ~47 KB, zstd with a
512 KB dictionary trained on 100 of the site's pages ~12 KB (bench/README.md).

`pages.codec` names how each row's `body` is stored:

* `zlib`: zlib (rows stored before migration m006, which keep working);
* `zstd`: a zstd frame, no dictionary (a site's first pages, before it has one);
* `zstd-dict:<id>`: a zstd frame made with the dictionary `page_dicts.id = <id>`.

A site is the host of the requested URL (`site_of`). Once TRAIN_AFTER of a site's pages
are archived and it has no dictionary, ArchiveWriter.store trains one on the newest of
them (`train_site_dictionary`), keeps it in `page_dicts` (never changed nor deleted, so
every row naming it stays readable) and re-stores that site's `zstd` pages with it.

Every reader of `pages.body` goes through `decompress_page`.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import sqlite_utils
from backports import zstd
from backports.zstd import _zstd

ZLIB = "zlib"
ZSTD = "zstd"
DICT_PREFIX = "zstd-dict:"
# With a 512 KB dictionary, on the benchmark's pages (bench/README.md): level 6 stores
# 10.8 KB in 0.6 ms and its compressor holds ~9 MB; level 10, 10.5 KB in 1.5 ms but ~31 MB
# (in every process that compresses: the crawl and each worker); level 3, 12.0 KB, ~3 MB.
LEVEL = 6
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

Db = sqlite_utils.Database | sqlite3.Connection

# Dictionaries for reading, by (archive file, page_dicts.id), the most recently used few:
# rows are never changed, so they can be kept. A frame records its dictionary's zstd id,
# checked on every use, so a stale entry (another archive at that path) cannot decode.
_dicts: OrderedDict[tuple[str, int], zstd.ZstdDict] = OrderedDict()
READ_CACHE = 8
# For writing, each site's current dictionary only, by (archive file, site): a dictionary
# digested for compression holds ~3 MB, dropped when the site's next one replaces it.
_writing: dict[tuple[str, str], tuple[int, zstd.ZstdDict]] = {}
_lock = threading.Lock()


def site_of(url: str) -> str:
    """The site a page's dictionary is chosen by: the host (and port) of its URL."""
    return urlsplit(url).netloc.lower()


def codec_dict_id(codec: str) -> int | None:
    return int(codec[len(DICT_PREFIX):]) if codec.startswith(DICT_PREFIX) else None


# -- reading --------------------------------------------------------------------------


def decompress_page(db: Db | None, row: Mapping[str, Any] | Sequence[Any]) -> bytes:
    """The raw page of a `pages` row: a mapping with `body` and `codec` (a row without
    `codec`, from before m006, is zlib), or a (body, codec) pair. `db`: the archive the
    row is from, which holds the dictionary it may name."""
    if isinstance(row, Mapping):
        body, codec = row["body"], row.get("codec") or ZLIB
    else:
        body, codec = row[0], row[1] or ZLIB
    if codec == ZLIB:
        return zlib.decompress(body)
    if codec == ZSTD:
        return zstd.decompress(body)
    dict_id = codec_dict_id(codec)
    if dict_id is None or db is None:
        raise ValueError(f"page codec {codec!r}: unknown, or no archive to find it in")
    return zstd.decompress(body, zstd_dict=dictionary(db, dict_id, frame=body))


def dictionary(db: Db, dict_id: int, frame: bytes | None = None) -> zstd.ZstdDict:
    """The dictionary `page_dicts.id = dict_id` of this archive (cached)."""
    key = (archive_path(db), dict_id)
    with _lock:
        found = _dicts.get(key) if key[0] else None
        if found is not None:
            _dicts.move_to_end(key)
    if found is not None and (frame is None
                              or zstd.get_frame_info(frame).dictionary_id == found.dict_id):
        return found
    found = _load(db, dict_id)
    if key[0]:
        with _lock:
            _dicts[key] = found
            while len(_dicts) > READ_CACHE:
                _dicts.popitem(last=False)
    return found


def _load(db: Db, dict_id: int) -> zstd.ZstdDict:
    row = db.execute("select dict from page_dicts where id = ?", [dict_id]).fetchone()
    if row is None or row[0] is None:
        raise LookupError(f"page dictionary {dict_id} is not in the archive")
    return zstd.ZstdDict(row[0])


def archive_path(db: Db) -> str:
    """The archive's file ('' for an in-memory database: nothing is cached for it)."""
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    for _, name, path in conn.execute("pragma database_list"):
        if name == "main":
            return path or ""
    return ""


# -- writing --------------------------------------------------------------------------


def site_dictionary(db: Db, site: str) -> int | None:
    """The id of the site's newest dictionary, or None."""
    row = db.execute("select max(id) from page_dicts where site = ? and dict is not null",
                     [site]).fetchone()
    return row[0] if row else None


def with_site_dictionary(db: Db, site: str, blob: bytes, codec: str) -> tuple[bytes, str]:
    """A page a worker compressed without a dictionary, again with the site's if it has
    one by now (trained while the page was in flight): else as it is."""
    if codec != ZSTD or site_dictionary(db, site) is None:
        return blob, codec
    return compress_page(db, site, zstd.decompress(blob))


def compress_page(db: Db | None, site: str | None, body: bytes) -> tuple[bytes, str]:
    """(stored body, codec) for a page of `site`: with the site's dictionary if it has
    one in `db`, else plain zstd."""
    dict_id = site_dictionary(db, site) if db is not None and site else None
    if dict_id is None:
        return zstd.compress(body, LEVEL), ZSTD
    assert db is not None and site is not None
    key = (archive_path(db), site)
    with _lock:
        current = _writing.get(key)
    if current is None or current[0] != dict_id:
        current = (dict_id, _load(db, dict_id))
        if key[0]:
            with _lock:
                _writing[key] = current
    return (zstd.compress(body, LEVEL, zstd_dict=current[1].as_digested_dict),
            f"{DICT_PREFIX}{dict_id}")


# Extraction workers (crawler/work.py) compress the pages they extract, and reextract's
# workers read the pages they extract again: each holds a read-only connection to the
# archive to find the site's dictionary.
_readers: dict[str, sqlite3.Connection] = {}


def _reader(archive: str) -> sqlite3.Connection:
    conn = _readers.get(archive)
    if conn is None:
        conn = sqlite3.connect(archive, timeout=30, check_same_thread=False)
        conn.execute("pragma query_only = 1")
        _readers[archive] = conn
    return conn


def compress_for_archive(archive: str | None, site: str | None,
                         body: bytes) -> tuple[bytes, str]:
    """compress_page, from a process that has the archive's path but no connection."""
    if not archive:
        return compress_page(None, None, body)
    return compress_page(_reader(archive), site, body)


def decompress_for_archive(archive: str, blob: bytes, codec: str | None) -> bytes:
    """decompress_page, from a process that has the archive's path but no connection."""
    return decompress_page(_reader(archive), (blob, codec))


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
    with _lock:
        path = archive_path(db)
        if path:
            _writing[(path, site)] = (dict_id, zdict)
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
