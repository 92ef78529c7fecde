"""Article revisions: when a revisit finds a field changed, the old state becomes a version."""

from __future__ import annotations

import difflib
import json
from typing import Any

import sqlite_utils

from pipelines.types import Article

TRACKED = ("title", "author", "publisher", "published_at", "text")


def changed_fields(stored: dict[str, Any], fresh: Article) -> list[str]:
    return [name for name in TRACKED if (stored.get(name) or None) != (fresh.get(name) or None)]


def text_diff(old: str, new: str) -> str:
    """A unified diff of the body, one paragraph a line."""
    return "\n".join(difflib.unified_diff(
        (old or "").splitlines(), (new or "").splitlines(),
        fromfile="before", tofile="after", lineterm="", n=1))


def record_revision(db: sqlite_utils.Database, stored: dict[str, Any], fresh: Article,
                    new_hash: str, at: str) -> list[str]:
    """Move the stored state to `article_versions` and update the article; return the
    changed fields (empty: nothing changed, nothing written)."""
    changes = changed_fields(stored, fresh)
    if not changes:
        return []
    db["article_versions"].insert({
        "article_id": stored["id"], "version": stored["version"], "replaced_at": at,
        "changed_fields": json.dumps(changes),
        **{name: stored.get(name) for name in TRACKED},
        "text_diff": text_diff(stored["text"], fresh["text"]) if "text" in changes else None,
        "content_hash": stored["content_hash"],
    })
    db["articles"].update(stored["id"], {
        **{name: fresh.get(name) for name in TRACKED},
        "published_date_only": bool(fresh.get("published_date_only")),
        "images": json.dumps(fresh["images"], ensure_ascii=False),
        "content_hash": new_hash, "version": stored["version"] + 1, "fetched_at": at,
    })
    return changes
