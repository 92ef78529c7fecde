"""Load and validate the seeds: the TOML files in `seeds/` naming what to crawl.

A bad seeds file must stop the command at once with a message naming the file, the line,
the source (or watch) and the key, so every check here reports through `SeedsError`.
`[[watch]]` tables (saved searches, crawler/watchseeds.py) are checked here too.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from w3lib.url import safe_url_string

from crawler.watchseeds import Watch, parse_watch

DEFAULT_SEEDS_DIR = Path("seeds")
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
INTERVAL = re.compile(r"^every\s+(\d+)\s*([smhd])$")
DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
DEFAULT_REVISIT = ("1h", "6h", "24h", "72h")


class SeedsError(ValueError):
    """A seeds file is malformed: the message names file, line, source and key."""

    def __init__(self, path: Path, message: str, *, line: int | None = None,
                 source: str | None = None, key: str | None = None,
                 watch: str | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        parts = [where]
        if source:
            parts.append(f"source {source!r}")
        if watch:
            parts.append(f"watch {watch!r}")
        if key:
            parts.append(f"key {key!r}")
        super().__init__(f"{', '.join(parts)}: {message}")
        self.path, self.line, self.source, self.key = path, line, source, key


@dataclass(frozen=True)
class Source:
    """One `[[source]]`: where to discover articles and which URLs count as articles."""

    name: str
    allow: tuple[str, ...]
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    jsonp: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    profile: str | None = None
    schedule: str | None = None
    max_articles: int | None = None
    max_listing_pages: int = 5
    # Revisit an article this long after it was first seen, to catch edits and removals.
    revisit: tuple[timedelta, ...] = field(
        default_factory=lambda: tuple(parse_duration(v) for v in DEFAULT_REVISIT))
    # Limits for a scheduled run (`newsarchive schedule`); None: the scheduler's defaults.
    timeout: timedelta | None = None
    max_memory_mb: int | None = None
    # An HTTP(S) proxy for every request of this source, over http_proxy/https_proxy.
    proxy: str | None = None
    seeds_file: str | None = field(default=None, compare=False)

    def is_article_url(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.allow) and not any(
            re.search(p, url) for p in self.deny
        )

    def entry_points(self) -> tuple[str, ...]:
        return self.start_urls + self.feeds + self.sitemaps + self.jsonp


URL_LIST_KEYS = ("start_urls", "feeds", "sitemaps", "jsonp")
REGEX_LIST_KEYS = ("allow", "deny")
KNOWN_KEYS = {
    "name", "profile", "schedule", "max_articles", "max_listing_pages", "revisit",
    "timeout", "max_memory_mb", "proxy",
    *URL_LIST_KEYS, *REGEX_LIST_KEYS,
}


def load_seeds(seeds_dir: Path = DEFAULT_SEEDS_DIR) -> list[Source]:
    """Every source of every `*.toml` in `seeds_dir`, validated; names unique across files.
    The watches are validated too (load_watches returns them)."""
    return _load_all(seeds_dir)[0]


def load_watches(seeds_dir: Path = DEFAULT_SEEDS_DIR) -> list[Watch]:
    """Every `[[watch]]` of every `*.toml` in `seeds_dir`, validated with the sources."""
    return _load_all(seeds_dir)[1]


def _load_all(seeds_dir: Path) -> tuple[list[Source], list[Watch]]:
    if not seeds_dir.is_dir():
        raise SeedsError(seeds_dir, "no such seeds directory")
    sources: list[Source] = []
    watches: list[tuple[Path, Watch]] = []
    seen: dict[str, Path] = {}
    for path in sorted(seeds_dir.glob("*.toml")):
        file_sources, file_watches = _load_file(path)
        for source in file_sources:
            if source.name in seen:
                raise SeedsError(path,
                                 f"duplicate source name, first defined in {seen[source.name]}",
                                 line=_key_line(path.read_text("utf-8"), source.name, "name"),
                                 source=source.name, key="name")
            seen[source.name] = path
            sources.append(source)
        watches.extend((path, watch) for watch in file_watches)
    _check_watches(watches, set(seen))
    return sources, [watch for _, watch in watches]


def _check_watches(watches: list[tuple[Path, Watch]], sources: set[str]) -> None:
    """Watch names unique across files; a watch's sources exist."""
    first: dict[str, Path] = {}
    for path, watch in watches:
        text = path.read_text("utf-8")

        def fail(key: str, message: str, watch: Watch = watch, text: str = text,
                 path: Path = path) -> SeedsError:
            return SeedsError(path, message, watch=watch.name, key=key,
                              line=_key_line(text, watch.name, key, table="watch"))

        if watch.name in first:
            raise fail("name", f"duplicate watch name, first defined in {first[watch.name]}")
        first[watch.name] = path
        for name in watch.sources or ():
            if name not in sources:
                raise fail("sources", f"unknown source {name!r} "
                                      f"(known: {', '.join(sorted(sources)) or 'none'})")


def select_sources(sources: list[Source], names: tuple[str, ...] | list[str]) -> list[Source]:
    """The named sources (all when no names); an unknown name is an error naming the known ones."""
    if not names:
        return sources
    by_name = {s.name: s for s in sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise KeyError(f"unknown source {unknown[0]!r} (known: {known})")
    return [by_name[n] for n in names]


def load_seeds_file(path: Path) -> list[Source]:
    """The sources of one seeds file, validated (its watches too)."""
    return _load_file(path)[0]


def _load_file(path: Path) -> tuple[list[Source], list[Watch]]:
    text = path.read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise SeedsError(path, f"not valid TOML: {exc}", line=line) from None
    unknown_top = set(data) - {"source", "watch"}
    if unknown_top:
        key = sorted(unknown_top)[0]
        raise SeedsError(path, "unknown top-level key (expected only [[source]] and "
                               "[[watch]] tables)", line=_top_line(text, key), key=key)
    for table in ("source", "watch"):
        if not isinstance(data.get(table, []), list):
            raise SeedsError(path, f"'{table}' must be an array of tables: write [[{table}]]",
                             line=_top_line(text, table), key=table)
    sources = [_parse_source(path, text, index, entry)
               for index, entry in enumerate(data.get("source", []))]
    return sources, [_parse_watch(path, text, index, entry)
                     for index, entry in enumerate(data.get("watch", []))]


def _parse_watch(path: Path, text: str, index: int, entry: dict[str, Any]) -> Watch:
    name = entry.get("name")
    label = name if isinstance(name, str) else f"#{index + 1}"

    def fail(key: str, message: str) -> SeedsError:
        return SeedsError(path, message, line=_key_line(text, label, key, index, table="watch"),
                          watch=label, key=key)

    return parse_watch(entry, fail, str(path))


def _parse_source(path: Path, text: str, index: int, entry: dict[str, Any]) -> Source:
    name = entry.get("name")
    label = name if isinstance(name, str) else f"#{index + 1}"

    def fail(key: str, message: str) -> SeedsError:
        return SeedsError(path, message, line=_key_line(text, label, key, index),
                          source=label, key=key)

    if not isinstance(name, str) or not SOURCE_NAME.match(name):
        raise fail("name", "required: a lowercase name of letters, digits, '-' or '_'")
    for key in entry:
        if key not in KNOWN_KEYS:
            raise fail(key, f"unknown key (known keys: {', '.join(sorted(KNOWN_KEYS))})")
    if "allow" not in entry:
        raise fail("allow", "required: regexes an article URL must match")
    lists = {key: _string_list(entry, key, fail) for key in URL_LIST_KEYS + REGEX_LIST_KEYS}
    for key in URL_LIST_KEYS:
        for url in lists[key]:
            if not re.match(r"^https?://[^/\s]+", url):
                raise fail(key, f"not an http(s) URL: {url!r}")
    for key in REGEX_LIST_KEYS:
        for pattern in lists[key]:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise fail(key, f"bad regex {pattern!r}: {exc}") from None
    if not any(lists[k] for k in URL_LIST_KEYS):
        raise fail("start_urls",
                   "a source needs at least one of start_urls, feeds, sitemaps, jsonp")
    return Source(
        name=name,
        allow=tuple(lists["allow"]),
        deny=tuple(lists["deny"]),
        start_urls=tuple(safe_url_string(u) for u in lists["start_urls"]),
        feeds=tuple(safe_url_string(u) for u in lists["feeds"]),
        sitemaps=tuple(safe_url_string(u) for u in lists["sitemaps"]),
        jsonp=tuple(safe_url_string(u) for u in lists["jsonp"]),
        profile=_profile(entry, fail),
        schedule=_schedule(entry, fail),
        max_articles=_positive_int(entry, "max_articles", None, fail),
        max_listing_pages=_positive_int(entry, "max_listing_pages", 5, fail) or 5,
        revisit=_revisit(entry, fail),
        timeout=_timeout(entry, fail),
        max_memory_mb=_positive_int(entry, "max_memory_mb", None, fail),
        proxy=_proxy(entry, fail),
        seeds_file=str(path),
    )


def _string_list(entry: dict[str, Any], key: str, fail: Any) -> list[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(key, "must be a list of non-empty strings")
    return value


def _positive_int(entry: dict[str, Any], key: str, default: int | None, fail: Any) -> int | None:
    value = entry.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(key, "must be a positive integer")
    return value


def _revisit(entry: dict[str, Any], fail: Any) -> tuple[timedelta, ...]:
    values = entry.get("revisit", list(DEFAULT_REVISIT))
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise fail("revisit", 'must be a list of delays after first seen, e.g. ["1h", "24h"]')
    try:
        delays = tuple(parse_duration(v) for v in values)
    except ValueError as exc:
        raise fail("revisit", str(exc)) from None
    if list(delays) != sorted(delays):
        raise fail("revisit", "delays must be in increasing order")
    return delays


def _timeout(entry: dict[str, Any], fail: Any) -> timedelta | None:
    value = entry.get("timeout")
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError("must be a duration like '30m'")
        return parse_duration(value)
    except ValueError as exc:
        raise fail("timeout", str(exc)) from None


def _proxy(entry: dict[str, Any], fail: Any) -> str | None:
    """'http://127.0.0.1:7890' or 'http://user:password@proxy.corp:8080': Scrapy speaks
    HTTP to a proxy (plain requests, and CONNECT for https), so no socks://."""
    value = entry.get("proxy")
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("proxy", "must be a proxy URL like 'http://127.0.0.1:7890'")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise fail("proxy", f"not a proxy URL: {value!r} ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise fail("proxy", f"not an http(s) proxy URL: {value!r} "
                   "(only HTTP proxies are supported, e.g. 'http://127.0.0.1:7890')")
    if not parts.hostname or not port:
        raise fail("proxy", f"a proxy URL needs a host and a port: {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise fail("proxy", f"a proxy URL is scheme://host:port only: {value!r}")
    return value


def parse_duration(value: str) -> timedelta:
    """'30m', '6h', '2d', '45s' as a timedelta."""
    match = DURATION.match(value.strip())
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"not a duration like '30m', '6h' or '2d': {value!r}")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def _profile(entry: dict[str, Any], fail: Any) -> str | None:
    value = entry.get("profile")
    if value is None:
        return None
    from pipelines.sites import PROFILES

    if not isinstance(value, str) or value not in PROFILES:
        raise fail("profile", f"unknown profile {value!r} (known: {', '.join(sorted(PROFILES))})")
    return value


def _schedule(entry: dict[str, Any], fail: Any) -> str | None:
    value = entry.get("schedule")
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("schedule", "must be a string: a cron expression or 'every 30m'")
    try:
        parse_schedule(value)
    except ValueError as exc:
        raise fail("schedule", str(exc)) from None
    return value


def parse_schedule(value: str) -> Any:
    """An APScheduler trigger for a cron string ('*/30 * * * *') or an interval ('every 30m')."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    interval = INTERVAL.match(value.strip())
    if interval:
        amount, unit = int(interval.group(1)), interval.group(2)
        if amount < 1:
            raise ValueError(f"interval must be positive: {value!r}")
        unit_name = UNITS[unit]
        return IntervalTrigger(**{unit_name: amount}, timezone="Asia/Shanghai")
    try:
        return CronTrigger.from_crontab(value, timezone="Asia/Shanghai")
    except ValueError as exc:
        raise ValueError(f"not a cron expression or 'every N[smhd]': {value!r} ({exc})") from None


def _line_from_message(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def _top_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^\s*\[*\s*{re.escape(key)}\b", line):
            return number
    return None


def _key_line(text: str, source: str, key: str, index: int | None = None,
              table: str = "source") -> int | None:
    """The line of `key` inside the source's [[source]] block, or the watch's [[watch]]
    block (TOML parsers give no key lines)."""
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, 1) if re.match(r"^\s*\[\[?\s*\w", line)]
    blocks = [n for n in headers if lines[n - 1].strip() == f"[[{table}]]"]
    for start_index, start in enumerate(blocks):
        end = next((n for n in headers if n > start), len(lines) + 1)
        block = lines[start - 1:end - 1]
        name_line = re.compile(rf'^\s*name\s*=\s*["\']{re.escape(source)}["\']')
        names_this = any(name_line.match(ln) for ln in block)
        if names_this or index == start_index:
            for offset, line in enumerate(block):
                if re.match(rf"^\s*{re.escape(key)}\s*=", line):
                    return start + offset
            return start
    return None
