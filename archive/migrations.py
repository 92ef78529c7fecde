"""Schema migrations, applied in order and recorded in `_migrations`; never drop-and-recreate.

To change the schema, append a function to MIGRATIONS. Each runs once per archive,
inside a transaction, in the order listed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

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


MIGRATIONS: list[Migration] = [m001_initial]


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply the migrations this archive lacks; return their names."""
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name", if_not_exists=True)
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for migration in MIGRATIONS:
        name = migration.__name__
        if name in done:
            continue
        with db.atomic():
            migration(db)
            db["_migrations"].insert({"name": name, "applied_at": _now()})
        applied.append(name)
    return applied


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
