"""How raw pages are stored: zstd with a dictionary trained on the site's own pages.

A site's pages share most of their bytes with each other (template, inline CSS and
scripts, the hot lists), which a compressor only sees when it is given them beforehand:
on NetEase-like pages of ~270 KB, zlib stores ~49 KB, zstd alone ~47 KB, zstd with a
512 KB dictionary trained on 100 of the site's pages ~12 KB (bench/README.md).

`pages.codec` names how each row's `body` is stored:

* `zlib`: zlib (rows stored before migration m006, which keep working);
* `zstd`: a zstd frame, no dictionary (a site's first pages, before it has one);
* `zstd-dict:<id>`: a zstd frame made with the dictionary `page_dicts.id = <id>`.

A site is the host of the requested URL (`site_of`). Its dictionaries are kept in
`page_dicts`, never changed nor deleted, so every row naming one stays readable.

Every reader of `pages.body` goes through `decompress_page`. When and how a site's
dictionary is trained: archive/pagedicts.py.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils
from backports import zstd

ZLIB = "zlib"
ZSTD = "zstd"
DICT_PREFIX = "zstd-dict:"
# With a 512 KB dictionary, on the benchmark's pages (bench/README.md): level 6 stores
# 10.8 KB in 0.6 ms and its compressor holds ~9 MB; level 10, 10.5 KB in 1.5 ms but ~31 MB
# (in every process that compresses: the crawl and each worker); level 3, 12.0 KB, ~3 MB.
LEVEL = 6
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


def remember_for_writing(db: Db, site: str, dict_id: int, zdict: zstd.ZstdDict) -> None:
    """Make a site's newly stored dictionary the one compress_page uses (pagedicts)."""
    with _lock:
        path = archive_path(db)
        if path:
            _writing[(path, site)] = (dict_id, zdict)
