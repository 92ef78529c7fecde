"""Reading any WARC (ours, `wget --warc-file`, Heritrix, CC-NEWS) into page captures.

Used by `newsarchive import` (newsarchive/warc/importing.py) and `newsarchive extract`
(pipelines/pagefiles.py); the header helpers by the WARC writers too
(crawler/warcfiles.py), so that what one writes the other reads back.

warcio parses the records; this module decides which are pages and says why the others
are not, checks that each record is whole (its digests, its length), and turns whatever
makes the file unreadable into one WarcError with the offset, after the captures read
before it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

# Headers that described how the body travelled, not what it is. Scrapy hands the body
# over de-chunked (and, for the archive, decompressed), so a WARC that kept them as they
# were would tell a reader to de-chunk a body that is not chunked. They are kept under
# this prefix (pywb's own convention for original headers) and restored on import.
ORIG_PREFIX = "X-Archive-Orig-"
FRAMING = ("transfer-encoding",)
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Extraction refuses larger pages in a crawl (NEWSARCHIVE_ARTICLE_MAXSIZE): so here.
MAX_BODY = 4 * 1024 * 1024
DECODED = ("gzip", "x-gzip", "deflate", "br")  # what warcio's content_stream undoes


class _Records(ArchiveIterator):
    """warcio's iterator, noting whether the file ended inside a gzip member (it stops
    there quietly, as at a clean end)."""

    cut_short = False

    def close(self) -> None:
        decompressor = self.reader.decompressor if self.reader else None
        if decompressor is not None and not decompressor.eof:
            self.cut_short = True
        super().close()


class WarcError(Exception):
    """The file cannot be read on from here: not a WARC, cut short, or a record that
    lies about its length."""


@dataclass
class Capture:
    """One HTML response of the WARC, as a crawl would have fetched it."""

    url: str  # WARC-Target-URI: the URL that answered
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str  # WARC-Date as the archive writes times (ISO 8601, +00:00)
    offset: int
    record_id: str | None
    # From the metadata record our exports write beside a response (None otherwise).
    requested_url: str | None = None
    profile: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)


@dataclass(frozen=True)
class Skipped:
    """A record that is not a page to import, and why."""

    reason: str
    offset: int
    url: str | None = None


def body_headers(headers: Iterable[tuple[str, str]], body_length: int,
                 encoded: bool = True) -> list[tuple[str, str]]:
    """HTTP headers that tell the truth about `body` as it is written: framing headers
    kept under ORIG_PREFIX, and a Content-Length that no longer matches kept there too
    with the body's own length in its place. `encoded`: the body still carries its
    Content-Encoding (False: it was decoded, so the header goes under the prefix too)."""
    out: list[tuple[str, str]] = []
    length_seen = False
    for name, value in headers:
        lower = name.lower()
        if lower in FRAMING or (lower == "content-encoding" and not encoded):
            out.append((ORIG_PREFIX + name, value))
        elif lower == "content-length":
            length_seen = True
            if value.strip() != str(body_length):
                out.append((ORIG_PREFIX + name, value))
                out.append((name, str(body_length)))
            else:
                out.append((name, value))
        else:
            out.append((name, value))
    if not length_seen:
        out.append(("Content-Length", str(body_length)))
    return out


def restored_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """body_headers undone: the headers as the crawler had them, one value per name
    (repeated names joined by ", ", as Scrapy joins them)."""
    pairs = list(headers)
    originals = {name[len(ORIG_PREFIX):].lower()
                 for name, _ in pairs if name.startswith(ORIG_PREFIX)}
    out: dict[str, str] = {}
    for name, value in pairs:
        if name.startswith(ORIG_PREFIX):
            name = name[len(ORIG_PREFIX):]
        elif name.lower() in originals:
            continue  # the stand-in for a header kept under the prefix
        key = next((k for k in out if k.lower() == name.lower()), name)
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def fetch_time(warc_date: str | None) -> str:
    """A WARC-Date (2025-11-14T01:02:03Z, maybe with fractions) as the archive's times."""
    if not warc_date:
        return datetime.now(UTC).isoformat(timespec="seconds")
    moment = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in HTML_TYPES


def warc_fields(block: bytes) -> dict[str, str]:
    """An application/warc-fields block as a dict."""
    fields = {}
    for line in block.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields


def _read_whole(stream: IO[bytes], limit: int) -> bytes:
    """The record's payload (de-chunked, decoded), at most `limit`+1 bytes of it; the
    rest is read too, so that digests are checked and the length is known."""
    data = stream.read(limit + 1)
    while stream.read(1 << 16):
        pass
    return data


def _check_whole(record: Any, offset: int) -> None:
    """A record that ended before its Content-Length, or whose digest does not match
    what it holds, is not whole: raise."""
    left = getattr(record.raw_stream, "limit", 0)
    if left:
        raise WarcError(f"record at offset {offset} ends {left} bytes before its "
                        "Content-Length: the file is cut short or the length lies")
    checker = getattr(record, "digest_checker", None)
    if checker is not None and checker.passed is False:
        raise WarcError(f"record at offset {offset} does not match its digest "
                        f"({'; '.join(checker.problems)}): its Content-Length lies or "
                        "its bytes were changed")


def _capture(record: Any, offset: int) -> Capture | Skipped:
    """A response record as a Capture, or why it is not one."""
    url = record.rec_headers.get_header("WARC-Target-URI")
    http = record.http_headers
    if http is None or not (http.protocol or "").upper().startswith("HTTP/"):
        _read_whole(record.raw_stream, 0)
        _check_whole(record, offset)
        return Skipped("not an HTTP response", offset, url)
    status = int(http.get_statuscode() or 0)
    content_type = http.get_header("Content-Type")
    encoding = (http.get_header("Content-Encoding") or "").lower()
    body = _read_whole(record.content_stream(), MAX_BODY)
    _check_whole(record, offset)
    if not 200 <= status < 300:
        return Skipped(f"HTTP {status}", offset, url)
    if not _is_html(content_type):
        kind = (content_type or "no Content-Type").split(";")[0].strip()
        return Skipped(f"not HTML: {kind}", offset, url)
    if len(body) > MAX_BODY:
        return Skipped(f"too large: more than {MAX_BODY // (1024 * 1024)} MB", offset, url)
    if not body:
        return Skipped("empty body", offset, url)
    pairs = list(http.headers)
    if encoding in DECODED:  # content_stream decoded it: as Scrapy does, drop the header
        pairs = [(k, v) for k, v in pairs if k.lower() != "content-encoding"]
    return Capture(url=url, status=status, headers=restored_headers(pairs), body=body,
                   fetched_at=fetch_time(record.rec_headers.get_header("WARC-Date")),
                   offset=offset, record_id=record.rec_headers.get_header("WARC-Record-ID"))


def _attach(capture: Capture, fields: dict[str, str]) -> None:
    """What our own export's metadata record says about the page it describes."""
    capture.requested_url = fields.get("requested-url")
    profile = fields.get("profile")
    capture.profile = profile if profile and profile != "generic" else None
    capture.extra = fields


def read_warc(path: Path, position: list[int] | None = None,
              ) -> Iterator[Capture | Skipped]:
    """Every record of the WARC at `path`, in file order: a Capture for each HTML page
    of a 2xx response, a Skipped with its reason for the rest. A response is held back
    until the record after it, which may be the metadata record describing it.
    `position`, if given, is kept at [bytes of the file read so far] (for progress).
    Raises WarcError when the file cannot be read on, after what came before."""
    held: Capture | None = None
    offset = 0
    if path.stat().st_size == 0:
        raise WarcError(f"{path} is empty: not a WARC file")
    with path.open("rb") as file:
        records = _Records(file, check_digests=True)
        try:
            for record in records:
                offset = records.offset
                if position is not None:
                    position[:] = [file.tell()]
                kind = record.rec_type
                if kind == "metadata" and held is not None and \
                        record.rec_headers.get_header("WARC-Concurrent-To") == held.record_id:
                    block = _read_whole(record.raw_stream, 1 << 20)
                    _check_whole(record, offset)
                    _attach(held, warc_fields(block))
                    yield held
                    held = None
                    yield Skipped("metadata record", offset)
                    continue
                if kind in ("request", "metadata") and held is not None:
                    _read_whole(record.raw_stream, 0)
                    _check_whole(record, offset)
                    yield Skipped(f"{kind} record", offset)
                    continue
                if held is not None:
                    yield held
                    held = None
                if kind != "response":
                    _read_whole(record.raw_stream, 0)
                    _check_whole(record, offset)
                    yield Skipped(f"{kind} record", offset)
                    continue
                found = _capture(record, offset)
                if isinstance(found, Capture):
                    held = found
                else:
                    yield found
        except WarcError:
            if held is not None:
                yield held
            raise
        except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError) as exc:
            if held is not None:
                yield held
            raise WarcError(_unreadable(path, offset, exc)) from exc
    if held is not None:
        yield held
    if records.cut_short:
        raise WarcError(f"{path}: cut short after offset {records.offset}: the file ends "
                        "inside a gzip member (a truncated download or copy?)")
    if position is not None:
        position[:] = [path.stat().st_size]


def _unreadable(path: Path, offset: int, exc: Exception) -> str:
    """A clear message for what warcio could not read."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ArchiveLoadFailed) and offset == 0:
        return f"{path} is not a WARC file ({text})"
    if isinstance(exc, EOFError | zlib.error) or "compressed" in text.lower():
        return (f"{path}: cut short or corrupt after offset {offset} "
                f"(a truncated gzip member?): {text}")
    return f"{path}: unreadable after offset {offset}: {text}"
