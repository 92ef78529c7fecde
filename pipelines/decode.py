"""Bytes -> str for fetched HTML, honest about charsets that lie.

Chinese news sites are the hard case: pages declare ``gb2312`` but use GBK characters
outside it, declare ``gb2312`` and are really UTF-8 (re-encoded by a CMS or saved from a
browser), or declare nothing at all over GBK bytes. The order used here:

1. a byte-order mark, when there is one (it cannot be there by accident);
2. strict UTF-8: multi-byte UTF-8 almost never validates by accident, so a page that
   passes is UTF-8 whatever it claims;
3. the declared encodings (HTTP header, then ``<meta>``), each mapped to the superset
   browsers use (gb2312/gbk -> gb18030, latin-1 -> cp1252, big5 -> big5hkscs, ...: w3lib's
   WHATWG table);
4. a declared encoding that decodes with only a few bad bytes (a truncated or corrupted
   GBK page) is kept, with U+FFFD for those bytes, as a browser would;
5. otherwise detection (charset_normalizer), mapped the same way;
6. failing all that, whichever candidate leaves the fewest U+FFFD.

bs4's ``UnicodeDammit`` runs 1-3 as ``known_definite_encodings`` and 5 as
``user_encodings``. The user encodings are a generator, so detection only runs when 1-3
failed (it costs more than the decoding itself on a large page), and it ends with a
sentinel that always decodes, so Dammit never reaches its own last resorts
(windows-1252, a replace pass that logs a warning) and 4 and 6 stay ours.
"""

from __future__ import annotations

from collections.abc import Iterator

import charset_normalizer
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

# Decodes any bytes, and is never a candidate of ours (w3lib maps latin-1 to cp1252), so
# Dammit reporting it means "nothing decoded cleanly".
_SENTINEL = "latin-1"
# Replacement characters per decoded character up to which a declared encoding is kept.
_FEW_ERRORS = 0.001


def declared_encodings(body: bytes, content_type: str | None = None) -> list[str]:
    """Encodings the response declares (header first, then the page), superset-mapped."""
    found: list[str] = []
    for enc in (http_content_type_encoding(content_type), html_body_declared_encoding(body)):
        if enc and enc not in found:
            found.append(enc)
    return found


def detect_encoding(body: bytes) -> str | None:
    """charset_normalizer's guess, superset-mapped (None when it has none)."""
    try:
        best = charset_normalizer.from_bytes(body[:200_000]).best()
    except Exception:  # a detector bug must not make decoding raise
        return None
    return resolve_encoding(best.encoding) if best is not None else None


def _damage(text: str) -> float:
    return text.count("\ufffd") / max(len(text), 1)


def _nearly_declared(body: bytes, declared: list[str]) -> str | None:
    """The body decoded with a declared encoding that fails on only a few bytes."""
    for enc in declared:
        text = to_unicode(body, enc)
        if _damage(text) <= _FEW_ERRORS:
            return text
    return None


def _fallbacks(body: bytes, declared: list[str]) -> Iterator[str]:
    """Encodings to try after the definite ones failed; lazy, see the module docstring."""
    if _nearly_declared(body, declared) is None:
        detected = detect_encoding(body)
        if detected:
            yield detected
    yield _SENTINEL


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode an HTML response body to text. Never raises for any bytes."""
    if isinstance(body, str):
        return body
    if not body:
        return ""
    bom, bom_bytes = read_bom(body)
    if not bom:
        # What UnicodeDammit below tries first, without importing bs4 (and soupsieve):
        # a crawl's start-up pays for that import only when a page is not UTF-8.
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    declared = declared_encodings(body, content_type)
    from bs4.dammit import UnicodeDammit

    try:
        dammit = UnicodeDammit(
            body,
            known_definite_encodings=[e for e in (bom, "utf-8", *declared) if e],
            user_encodings=_fallbacks(body, declared),  # type: ignore[arg-type]
            is_html=True,
        )
        if dammit.unicode_markup is not None and dammit.original_encoding != _SENTINEL:
            return dammit.unicode_markup
    except Exception:  # defensive: bs4 internals on hostile bytes; we fall back below
        pass
    if bom_bytes:
        body = body[len(bom_bytes) :]
    nearly = _nearly_declared(body, declared)
    if nearly is not None:
        return nearly
    return _least_damaged(body, [*declared, detect_encoding(body) or "gb18030", "utf-8"])


def _least_damaged(body: bytes, candidates: list[str]) -> str:
    """No encoding decodes cleanly: take the candidate leaving the fewest U+FFFD.

    Ties go to the earlier candidate, i.e. to what the page declared.
    """
    best: str | None = None
    for enc in dict.fromkeys(candidates):
        try:
            text = to_unicode(body, enc)
        except LookupError:
            continue
        if best is None or text.count("\ufffd") < best.count("\ufffd"):
            best = text
    return best if best is not None else body.decode("utf-8", "replace")
