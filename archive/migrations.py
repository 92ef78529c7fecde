"""Schema migrations, applied in order and recorded in `_migrations`; never drop-and-recreate.

To change the schema, append a function to MIGRATIONS. Each runs once per archive,
inside a transaction, in the order listed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from archive.transactions import write_transaction

Migration = Callable[[sqlite_utils.Database], None]


def m001_initial(db: sqlite_utils.Database) -> None:
    db["crawl_runs"].create(
        {
            "id": int, "source": str, "started_at": str, "finished_at": str,
            "status": str, "finish_reason": str, "pages_fetched": int, "articles_new": int,
            "duplicates": int, "failures": int, "pid": int,
        },
        pk="id",
        defaults={"status": "running", "pages_fetched": 0, "articles_new": 0,
                  "duplicates": 0, "failures": 0},
        not_null={"source", "started_at", "status"},
    )
    db["articles"].create(
        {
            "id": int, "canonical_url": str, "url": str, "title": str, "author": str,
            "publisher": str, "published_at": str, "text": str, "images": str, "lang": str,
            "site": str, "source": str, "profile": str, "template": str,
            "fetched_at": str, "first_seen_at": str, "content_hash": str,
            "duplicate_of": int,
        },
        pk="id",
        not_null={"canonical_url", "url", "text", "fetched_at", "first_seen_at", "content_hash"},
        foreign_keys=[("duplicate_of", "articles", "id")],
    )
    db["articles"].create_index(["canonical_url"], unique=True)
    db["articles"].create_index(["content_hash"])
    db["articles"].create_index(["published_at"])
    db["articles"].create_index(["source", "published_at"])
    db["article_urls"].create(
        {"url": str, "article_id": int, "first_seen_at": str},
        pk="url",
        not_null={"article_id", "first_seen_at"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_urls"].create_index(["article_id"])
    db["pages"].create(
        {
            "id": int, "url": str, "final_url": str, "status": int, "headers": str,
            "content_type": str, "fetched_at": str, "body": bytes, "body_size": int,
            "run_id": int, "article_id": int,
        },
        pk="id",
        not_null={"url", "status", "fetched_at"},
        foreign_keys=[("run_id", "crawl_runs", "id"), ("article_id", "articles", "id")],
    )
    db["pages"].create_index(["url"])
    db["pages"].create_index(["article_id"])
    db["failures"].create(
        {"id": int, "run_id": int, "url": str, "reason": str, "status": int, "at": str},
        pk="id",
        not_null={"url", "reason", "at"},
        foreign_keys=[("run_id", "crawl_runs", "id")],
    )
    db["failures"].create_index(["run_id"])


def m002_dedup_and_revisits(db: sqlite_utils.Database) -> None:
    """Near-duplicate index, article life cycle and revisions, conditional listing requests."""
    db["article_minhash"].create(
        {"article_id": int, "hashvalues": bytes}, pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["lsh_bands"].create(
        {"band": int, "key": int, "article_id": int},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["lsh_bands"].create_index(["band", "key"])
    db["lsh_bands"].create_index(["article_id"])
    articles = db["articles"]
    articles.add_column("duplicate_similarity", float)  # estimated Jaccard to duplicate_of
    articles.add_column("status", str, not_null_default="live")  # live | removed
    articles.add_column("removed_at", str)
    articles.add_column("last_checked_at", str)
    articles.add_column("next_check_at", str)  # when the next revisit is due; NULL: never
    articles.add_column("revisits", int, not_null_default=0)
    articles.add_column("version", int, not_null_default=1)
    articles.create_index(["duplicate_of"])
    articles.create_index(["source", "next_check_at"])
    db["article_versions"].create(
        {
            "id": int, "article_id": int, "version": int, "replaced_at": str,
            "changed_fields": str, "title": str, "author": str, "publisher": str,
            "published_at": str, "text": str, "text_diff": str, "content_hash": str,
        },
        pk="id",
        not_null={"article_id", "version", "replaced_at", "changed_fields"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_versions"].create_index(["article_id", "version"], unique=True)
    runs = db["crawl_runs"]
    runs.add_column("revised", int, not_null_default=0)
    runs.add_column("removed", int, not_null_default=0)
    runs.add_column("listings_read", int, not_null_default=0)
    runs.add_column("not_modified", int, not_null_default=0)  # listings answered 304
    db["listing_state"].create(
        {"url": str, "etag": str, "last_modified": str, "checked_at": str, "status": int},
        pk="url",
    )


def m003_articles_fts(db: sqlite_utils.Database) -> None:
    """Chinese full-text search over title and body: FTS5 over jieba-segmented text.

    unicode61 does not segment Chinese, so archive/fts.py indexes text jieba has cut into
    words (rowid = articles.id) and keeps it in step from ArchiveWriter.store.
    """
    from archive.fts import rebuild_index

    db.execute("create virtual table articles_fts using fts5("
               "title, text, tokenize = 'unicode61 remove_diacritics 2')")
    rebuild_index(db)


def m004_page_extraction(db: sqlite_utils.Database) -> None:
    """What extraction made of each stored page, for `reextract` and extraction health.

    Plain columns rather than one JSON column: `newsarchive stats` aggregates them per run
    with SQL, and datasette can facet on them. NULL on pages stored before this migration.
    """
    pages = db["pages"]
    # The profile extraction was asked to use: the seeds' `profile`, else the one serving
    # the URL's host; "generic" when none does.
    pages.add_column("profile", str)
    pages.add_column("template", str)  # the profile's template that matched; NULL: none
    pages.add_column("has_date", int)  # 1/0: a publish time was found; NULL: no article
    pages.add_column("has_author", int)  # 1/0: an author was found; NULL: no article
    pages.add_column("text_chars", int)  # length of the extracted body; NULL: no article
    # Covering index: the per-run figures are read from it alone, never from the table,
    # whose rows carry the page bodies. Also serves every `where run_id = ?` count.
    pages.create_index(["run_id", "profile", "template", "has_date", "has_author",
                        "text_chars"], index_name="pages_run_extraction")


def m005_contentless_fts(db: sqlite_utils.Database) -> None:
    """The search index without its own copy of the segmented title and body.

    m003's table stored them again (FTS5's content): ~9 KB an article of NetEase, a
    sixth of the archive with the raw page zstd-compressed. A contentless table keeps only
    the index; search snippets come from `articles` (archive/fts.py). The index is copied
    from the old table's stored text, exactly as indexed, without segmenting anything
    again. The freed pages are reused by later writes; `VACUUM` returns them to the file
    system.
    """
    db.execute("create virtual table articles_fts_contentless using fts5("
               "title, text, content = '', tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("insert into articles_fts_contentless (rowid, title, text) "
               "select rowid, title, text from articles_fts")
    db.execute("drop table articles_fts")
    db.execute("alter table articles_fts_contentless rename to articles_fts")
    db.execute("insert into articles_fts (articles_fts) values ('optimize')")


def m006_page_codecs(db: sqlite_utils.Database) -> None:
    """Raw pages in zstd, with a dictionary per site (archive/pagecodec.py).

    `pages.codec` says how each body is stored; the rows stored before are zlib and stay
    so. `page_dicts` keeps the dictionaries (never changed nor deleted: rows name them).
    """
    db["pages"].add_column("codec", str, not_null_default="zlib")
    db["page_dicts"].create(
        {"id": int, "site": str, "created_at": str, "pages": int, "size": int,
         "dict": bytes},
        pk="id", not_null={"site", "created_at", "dict"})
    db["page_dicts"].create_index(["site", "id"])
    # The pages stored without a dictionary are few (a site's first ones): found by site
    # through this small index, never by reading `codec` (after the body) from every row.
    db.execute("create index pages_zstd_plain on pages(url) where codec = 'zstd'")


def m007_lsh_bands_without_rowid(db: sqlite_utils.Database) -> None:
    """The LSH index as one B-tree keyed (band, key, article_id).

    m002's table was a rowid table with two indexes: every article's 32 band keys went
    into three B-trees, one of them at random places. Keyed by its own columns (WITHOUT
    ROWID), a lookup reads only this tree and a store writes only to it. An article's
    entries are found again from its stored signature (archive/neardup.py), so the
    article_id index is no longer needed.
    """
    db.execute("create table lsh_bands_keyed (band integer not null, key integer not null, "
               "article_id integer not null references articles(id), "
               "primary key (band, key, article_id)) without rowid")
    db.execute("insert or ignore into lsh_bands_keyed (band, key, article_id) "
               "select band, key, article_id from lsh_bands order by band, key, article_id")
    db.execute("drop table lsh_bands")
    db.execute("alter table lsh_bands_keyed rename to lsh_bands")


def m008_lsh_recent(db: sqlite_utils.Database) -> None:
    """Where a new article's LSH band keys wait before they are folded into lsh_bands in
    key order, many at a time (archive/neardup.py): its pages stay few and hot, so a
    store's random writes to the index stop growing with the archive."""
    db.execute("create table lsh_recent (band integer not null, key integer not null, "
               "article_id integer not null references articles(id), "
               "primary key (band, key, article_id)) without rowid")


def m009_lsh_pending(db: sqlite_utils.Database) -> None:
    """The near-duplicate index as an LSM (archive/neardup.py): new articles' band keys as
    one appended row each in `lsh_pending` (a JSON array), looked up from the writer's
    memory and folded into `lsh_bands` every so many articles; `lsh_state` counts the
    folds and keeps a Bloom filter of `lsh_bands`' keys (left empty here: the index
    builds it).

    m008's `lsh_recent` took 32 rows at random places per article, 32 pages written at
    every commit; its keys are folded into `lsh_bands`, which loses its foreign key: an
    index derived from `article_minhash`, whose every insert (64,000 in a fold) looked up
    the article for nothing.
    """
    db.execute("create table lsh_bands_plain (band integer not null, key integer not null, "
               "article_id integer not null, primary key (band, key, article_id)) "
               "without rowid")
    db.execute("insert or ignore into lsh_bands_plain (band, key, article_id) "
               "select band, key, article_id from "
               "(select * from lsh_bands union all select * from lsh_recent) "
               "order by band, key, article_id")
    db.execute("drop table lsh_bands")
    db.execute("drop table lsh_recent")
    db.execute("alter table lsh_bands_plain rename to lsh_bands")
    # AUTOINCREMENT: ids never come back after a delete, so "the rows after the last I
    # read" means what it says to every writer.
    db.execute("create table lsh_pending (id integer primary key autoincrement, "
               "article_id integer not null, keys text not null)")
    db.execute("create table lsh_state (id integer primary key check (id = 1), "
               "folds integer not null default 0, filter_keys integer, filter blob)")
    db.execute("insert into lsh_state (id) values (1)")


def m010_fts_automerge(db: sqlite_utils.Database) -> None:
    """The search index merges its segments 64 at a time instead of 4 (FTS5 `automerge`,
    and `crisismerge` with it, which would otherwise merge at 16).

    FTS5 does merge work at every insert in proportion to its number of levels of
    segments: with 4 a level, a 100,000-article archive has 8 levels; with 64, 3.
    Measured on the archive's own segmented texts, one article a transaction, growing to
    100,000 (ms an article at 1,000 and at 100,000): automerge 4, 1.24 and 1.49; 16,
    1.10 and 1.18; in another run, 16, 0.77 and 0.72 against 64, 0.68 and 0.59. A search
    reads more segments: at 100,000, one word 0.98 ms against 0.80 with 16, two words
    0.63 against 0.27.
    """
    for option in ("automerge", "crisismerge"):
        db.execute("insert into articles_fts (articles_fts, rank) values (?, 64)", [option])


def m011_published_date_only(db: sqlite_utils.Database) -> None:
    """`articles.published_date_only`: 1 when the page gives a day without a time, and
    published_at is then that day alone ("2019-06-12"), not an invented midnight. Set
    for the articles already stored from the form of their published_at."""
    db["articles"].add_column("published_date_only", int, not_null_default=0)
    db.execute("update articles set published_date_only = 1 where published_at is not null"
               " and instr(published_at, 'T') = 0")


def m012_cluster(db: sqlite_utils.Database) -> None:
    """A crawl over several machines (docs/cluster.md): the node that fetched each page,
    the cluster run a `crawl_runs` row stands for, and the stream entries the one
    writer has stored, so that one delivered twice is stored once."""
    db.execute("alter table pages add column node text")
    db.execute("alter table crawl_runs add column cluster_run text")
    db.execute("create unique index crawl_runs_cluster_run on crawl_runs (cluster_run) "
               "where cluster_run is not null")
    db.execute("create table cluster_deliveries (ms integer not null, seq integer not null, "
               "primary key (ms, seq)) without rowid")


def m013_search_folding(db: sqlite_utils.Database) -> None:
    """Re-index every article folded for search (archive/textfold.py): Traditional script
    to Simplified with OpenCC, full-width forms to half-width, so that 烏鎮 finds 乌镇.
    Queries are folded the same way from now on; the index must match them."""
    from archive.fts import rebuild_index

    rebuild_index(db)


def m014_watches(db: sqlite_utils.Database) -> None:
    """Watchlists (archive/watches.py): the seeds' watches as the crawl matches them, the
    matches found where articles are stored, an outbox of what each notify target is owed,
    and a record of every delivery attempt.

    `watches` holds no notify URL (they may carry passwords, and datasette shows this
    table): a target is named by a hash of its URL and a label without credentials.
    """
    db.execute("create table watches (name text primary key, query text not null, "
               "sources text, events text not null, digest text not null, "
               "targets text not null, seeds_file text, updated_at text not null)")
    db.execute("create table matches (id integer primary key, watch text not null, "
               "article_id integer not null references articles(id), event text not null, "
               "version integer not null, matched_at text not null, "
               "unique (watch, article_id, event, version))")
    db.execute("create index matches_watch_at on matches(watch, matched_at)")
    db.execute("create table watch_outbox (id integer primary key, "
               "match_id integer not null references matches(id), watch text not null, "
               "target text not null, status text not null default 'pending', "
               "attempts integer not null default 0, next_attempt_at text, last_error text, "
               "claimed_at text, claimed_by integer, sent_at text, delivery_id integer, "
               "unique (match_id, target))")
    # The owed messages are found by this partial index alone: sent rows leave it.
    db.execute("create index watch_outbox_owed on watch_outbox(watch, target, status) "
               "where status != 'sent'")
    db.execute("create table watch_deliveries (id integer primary key, watch text not null, "
               "target text not null, label text, at text not null, status text not null, "
               "matches integer not null, error text)")
    db.execute("create index watch_deliveries_watch on watch_deliveries(watch, id)")


def m015_articles_by_time(db: sqlite_utils.Database) -> None:
    """The reading pages list articles newest first by their time, the publish time or
    else when first seen (newsarchive/web/home.py's WHEN): an index on that expression,
    so that the home page's latest articles read 20 rows, not the whole table."""
    db.execute("create index articles_by_time on articles("
               "coalesce(published_at, first_seen_at))")


def m016_minhash_signature(db: sqlite_utils.Database) -> None:
    """Which MinHash algorithm the archive's signatures come from (pipelines.dedup.SIGNATURE).
    Left empty here: the archive's signatures are datasketch's, and opening it computes
    them again with rensa's (archive/signatures.py): a fingerprint, shingles included,
    takes a fifth of the time."""
    db.execute("alter table lsh_state add column signature text")


MIGRATIONS: list[Migration] = [m001_initial, m002_dedup_and_revisits, m003_articles_fts,
                               m004_page_extraction, m005_contentless_fts, m006_page_codecs,
                               m007_lsh_bands_without_rowid, m008_lsh_recent, m009_lsh_pending,
                               m010_fts_automerge, m011_published_date_only,
                               m012_cluster, m013_search_folding,
                               m014_watches, m015_articles_by_time,
                               m016_minhash_signature]


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply the migrations this archive lacks; return their names."""
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name", if_not_exists=True)
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for migration in MIGRATIONS:
        name = migration.__name__
        if name in done:
            continue
        with write_transaction(db):
            # Another process (two crawls started together) may have applied it since we
            # looked: check again now that we hold the write lock.
            if db.execute("select 1 from _migrations where name = ?", [name]).fetchone():
                continue
            migration(db)
            db["_migrations"].insert({"name": name, "applied_at": _now()})
        applied.append(name)
    return applied


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
