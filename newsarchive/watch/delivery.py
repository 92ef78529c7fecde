"""Delivery of watch matches with Apprise, from the archive's outbox, after the commit.

`deliver` is called at the end of every `newsarchive crawl`, by the scheduler's tick and
by `newsarchive watch send`. For each watch of the seeds and each of its notify URLs it
reads what the outbox owes (archive/watches.py), keeps what the watch's digest period
lets go now, claims those rows, sends ONE message listing them, and settles the rows:
sent, or back to pending with the error and a later attempt (exponential backoff).

Exactly once per (watch, article, event) and target: a row is claimed in a write
transaction before it is sent, so two processes never send it both; it is marked sent in
the transaction that records the delivery. The one window left is a process killed after
the receiver accepted a message and before that commit: the claim is abandoned (its
process is gone) and the next delivery sends those matches again. Every message names
its matches by id (`#watch/article/event/version`) so that a receiver can tell.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from archive import open_archive
from archive.fts import HL_CLOSE, HL_OPEN, text_snippet
from archive.watches import Target, WatchRow, claim, owed, settle, sync_watches
from crawler.watchseeds import Watch, target_label

logger = logging.getLogger(__name__)
DIGEST_ZONE = ZoneInfo("Asia/Shanghai")  # "daily 08:00" is Beijing time, as schedules are
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=6)
SNIPPET_CHARS = 160


@dataclass
class Delivery:
    """One message sent, or attempted, to one target."""

    watch: str
    target: str  # its label: scheme://host
    matches: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def sync_from_seeds(db: sqlite_utils.Database, watches: Sequence[Watch]) -> None:
    """Copy the seeds' watches into the archive, without their notify URLs."""
    sync_watches(db, [WatchRow(
        name=w.name, query=w.query, sources=w.sources, events=w.events, digest=w.digest,
        targets=tuple(Target(id=tid, label=target_label(url))
                      for tid, url in w.targets().items()),
        seeds_file=w.seeds_file) for w in watches])


def deliver(db: sqlite_utils.Database, watches: Sequence[Watch], *,
            now: datetime | None = None, force: bool = False) -> list[Delivery]:
    """Send what is owed to every target of these watches and is due now. `force`: all
    that is owed, whatever the digest period and the backoff (`watch send`)."""
    moment = now or datetime.now(UTC)
    done = []
    for watch in watches:
        for target, url in watch.targets().items():
            rows = owed(db, watch.name, target, now=moment, ignore_backoff=force)
            if not force:
                rows = due(rows, watch.digest, moment)
            if rows:
                done.append(_send(db, watch, Target(target, target_label(url)), url, rows))
    return done


def deliver_after_crawl(db_path: Path, watches: Sequence[Watch]) -> list[str]:
    """Deliver what is due after a crawl; a line to print for each message. A delivery
    that fails is recorded and retried later; it never fails the crawl."""
    if not watches:
        return []
    done = deliver(open_archive(db_path), watches)
    return [f"watch {d.watch}: {d.matches} match{'es' if d.matches != 1 else ''} "
            + ("sent to " + d.target if d.ok else f"NOT sent to {d.target} ({d.error}); "
               "retried later, or now with `newsarchive watch send`")
            for d in done if d.matches]


def deliver_from_seeds(db_path: Path, seeds_dir: Path | None) -> list[str]:
    """The scheduler's tick: the seeds' watches synced into the archive, then delivered
    as after a crawl."""
    from crawler.seeds import load_watches

    watches = load_watches(seeds_dir) if seeds_dir else []
    if not watches or not db_path.exists():  # a cluster's scheduler may have no archive
        return []
    sync_from_seeds(open_archive(db_path), watches)
    return deliver_after_crawl(db_path, watches)


def due(rows: list[dict[str, Any]], digest: str, now: datetime) -> list[dict[str, Any]]:
    """The rows the digest period lets go at `now`: all of them every run; those matched
    before the last turn of the hour, or of the day at HH:MM, otherwise."""
    boundary = period_start(digest, now)
    if boundary is None:
        return rows
    cut = boundary.astimezone(UTC).isoformat(timespec="seconds")
    return [row for row in rows if row["matched_at"] < cut]


def period_start(digest: str, now: datetime) -> datetime | None:
    """The start of the digest period `now` is in (None: every run has its own)."""
    local = now.astimezone(DIGEST_ZONE)
    if digest == "hourly":
        return local.replace(minute=0, second=0, microsecond=0)
    if digest.startswith("daily "):
        hour, minute = (int(part) for part in digest.split()[1].split(":"))
        start = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return start if start <= local else start - timedelta(days=1)
    return None


def backoff(attempts: int) -> timedelta:
    """How long to wait after the attempts made so far failed: 1, 2, 4 ... minutes, at
    most 6 hours."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LAST_RETRY)


def _send(db: sqlite_utils.Database, watch: Watch, target: Target, url: str,
          rows: list[dict[str, Any]]) -> Delivery:
    ids = set(claim(db, rows))
    rows = [row for row in rows if row["id"] in ids]
    if not rows:  # another process took them
        return Delivery(watch.name, target.label, 0)
    title, body = message(watch, rows)
    error = notify(url, title, body)
    attempts = max(row["attempts"] for row in rows) + 1
    settle(db, watch.name, target, [row["id"] for row in rows], error,
           retry_after=backoff(attempts))
    if error:
        logger.warning("watch %s: %d matches not sent to %s: %s", watch.name, len(rows),
                       target.label, error)
    return Delivery(watch.name, target.label, len(rows), error)


def notify(url: str, title: str, body: str) -> str | None:
    """Send one message with Apprise; None when it was accepted, else the error."""
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        return "notify URL not understood by Apprise"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN)
    if ok:
        return None
    lines = [line.split(" - ", 2)[-1] for line in captured.getvalue().splitlines() if line]
    return "; ".join(lines[-2:]) or "not sent"


def message(watch: Watch, rows: list[dict[str, Any]]) -> tuple[str, str]:
    """(title, Markdown body): one entry per match, oldest first, the query's words bold."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["event"]] = counts.get(row["event"], 0) + 1
    summary = ", ".join(f"{n} {event}" for event, n in counts.items())
    title = f"newsarchive watch {watch.name}: {summary}"
    entries = [_entry(watch, row) for row in rows]
    footer = (f"Watch {watch.name!r}: {watch.query} · digest {watch.digest} · "
              f"newsarchive watch matches {watch.name}")
    return title, "\n\n".join([*entries, footer])


def _entry(watch: Watch, row: dict[str, Any]) -> str:
    when = (row["published_at"] or row["first_seen_at"] or "")[:16].replace("T", " ")
    event = row["event"] if row["event"] != "edited" else f"edited (version {row['version']})"
    snippet = text_snippet(row["text"], watch.query, SNIPPET_CHARS)
    snippet = snippet.replace(HL_OPEN, "**").replace(HL_CLOSE, "**")
    ident = f"#{watch.name}/{row['article_id']}/{row['event']}/{row['version']}"
    title = (row["title"] or row["url"]).replace("[", "(").replace("]", ")")
    return (f"**[{title}]({row['url']})**\n"
            f"{row['source']} · {when} · {event} · {ident}\n"
            f"> {snippet}")
