"""The seeds' `[[watch]]` tables: saved searches whose matches are sent to people.

Parsed and checked by the seeds loader (seeds.py), which reports every mistake with the
file, line, watch and key: `parse_watch` raises what its `fail(key, message)` makes.
A notify URL is parsed by Apprise, which sends nothing doing so, so a malformed or
unsupported one stops the command at load time rather than at the first match.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

WATCH_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EVENTS = ("new", "edited", "removed")
DIGEST = re.compile(r"^(every run|hourly|daily (\d{2}):(\d{2}))$")
KNOWN_WATCH_KEYS = {"name", "query", "sources", "events", "notify", "digest"}
# A query chunk that can match: not excluded, not the OR operator, holding a word character
# (archive.fts.parse_query keeps the same chunks; no jieba needed to tell).
_POSITIVE_CHUNK = re.compile(r'(?:^|\s)(?!-)(?:"([^"]*\w[^"]*)"?|(?!OR(?:\s|$))(\S*\w\S*))')

Fail = Callable[[str, str], Exception]


@dataclass(frozen=True)
class Watch:
    """One `[[watch]]`: a query, which events of which sources, where and how often."""

    name: str
    query: str
    sources: tuple[str, ...] | None = None  # None: every source
    events: tuple[str, ...] = ("new",)
    notify: tuple[str, ...] = ()
    digest: str = "every run"
    seeds_file: str | None = None

    def targets(self) -> dict[str, str]:
        """target id -> notify URL (the archive keeps only the id and a label)."""
        return {target_id(url): url for url in self.notify}


def target_id(url: str) -> str:
    """A stable name for a notify URL that does not reveal it."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def target_label(url: str) -> str:
    """The notify URL without user, password, path or query: scheme://host[:port]."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


def parse_watch(entry: dict[str, Any], fail: Fail, seeds_file: str) -> Watch:
    name = entry.get("name")
    if not isinstance(name, str) or not WATCH_NAME.match(name):
        raise fail("name", "required: a lowercase name of letters, digits, '-' or '_'")
    for key in entry:
        if key not in KNOWN_WATCH_KEYS:
            raise fail(key, f"unknown key (known keys: {', '.join(sorted(KNOWN_WATCH_KEYS))})")
    query = entry.get("query")
    if not isinstance(query, str) or not _POSITIVE_CHUNK.search(query):
        raise fail("query", "required: a search query with at least one word not excluded "
                            "(the syntax of `newsarchive search`)")
    return Watch(name=name, query=query, sources=_sources(entry, fail),
                 events=_events(entry, fail), notify=_notify(entry, fail),
                 digest=_digest(entry, fail), seeds_file=seeds_file)


def _strings(entry: dict[str, Any], key: str, fail: Fail) -> list[str] | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(key, "must be a list of non-empty strings")
    return value


def _sources(entry: dict[str, Any], fail: Fail) -> tuple[str, ...] | None:
    values = _strings(entry, "sources", fail)
    return None if values is None else tuple(values)


def _events(entry: dict[str, Any], fail: Fail) -> tuple[str, ...]:
    values = _strings(entry, "events", fail) or ["new"]
    for value in values:
        if value not in EVENTS:
            raise fail("events", f"unknown event {value!r} (known: {', '.join(EVENTS)})")
    return tuple(dict.fromkeys(values))


def _digest(entry: dict[str, Any], fail: Fail) -> str:
    value = entry.get("digest", "every run")
    found = DIGEST.match(value) if isinstance(value, str) else None
    if not found or (found.group(2) and (int(found.group(2)) > 23 or int(found.group(3)) > 59)):
        raise fail("digest", f"not 'every run', 'hourly' or 'daily HH:MM': {value!r}")
    return value


def _notify(entry: dict[str, Any], fail: Fail) -> tuple[str, ...]:
    values = _strings(entry, "notify", fail) or []
    if values:
        import apprise

        for url in values:
            if apprise.Apprise.instantiate(url) is None:
                raise fail("notify", f"not a notify URL Apprise can send to: "
                                     f"{target_label(url)!r}… (see "
                                     "https://github.com/caronc/apprise/wiki)")
    return tuple(values)
