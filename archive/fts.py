"""Chinese full-text search: jieba-segmented FTS5 index over article titles and bodies.

FTS5's `unicode61` tokenizer does not segment Chinese: a run of Han characters is one token,
so 乌镇 would only match a text where it stands between punctuation. We therefore index text
that jieba has already cut into words, and segment every query the same way before it
reaches MATCH.

The indexed form of a text is built so that it can be turned back into the original exactly
(for un-segmented snippets):

* words are joined by SEP (U+200B ZERO WIDTH SPACE): an FTS5 separator, and never part of
  the original because we strip it first;
* after each word come no tokens of its own, but before each long word come its dictionary
  sub-words (what `jieba.cut_for_search` adds: 智能网联汽车 -> 智能, 智能网, 联, 汽车;
  互联网 -> 互联, 联网, 互联网), each prefixed with SUB (U+2060 WORD JOINER), so that a
  search for 互联 finds 互联网. Un-segmenting drops SUB pieces, moving any highlight they
  carry onto the word that follows them.

A query is cut the same way, so the same words in the same context give the same token
sequence: each whitespace-separated chunk (or "quoted phrase") of the query becomes one
FTS5 phrase, and all chunks must match (AND). Matching is by words, not substrings: 联网小镇
does not find 互联网小镇, since the text's words are 互联网 / 小镇.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlite_utils

if TYPE_CHECKING:
    import jieba

FTS_TABLE = "articles_fts"
SEP = "\u200b"
SUB = "\u2060"
# Highlight markers handed to FTS5's highlight(): private-use characters, which no article
# text we index carries (we strip them), so they can be found again unambiguously.
HL_OPEN = "\ue000"
HL_CLOSE = "\ue001"
_RESERVED = str.maketrans("", "", SEP + SUB + HL_OPEN + HL_CLOSE)
_WORDISH = re.compile(r"\w")  # a token FTS5 would keep: it has a letter or digit
_CHUNK = re.compile(r'"([^"]*)"?|(\S+)')  # a "quoted phrase" (maybe unclosed) or a bare chunk

Db = sqlite_utils.Database | sqlite3.Connection


@functools.cache
def tokenizer() -> jieba.Tokenizer:
    """jieba's default tokenizer, its dictionary loaded once per process and quietly."""
    import jieba

    # jieba logs "Building prefix dict ... Loading model cost 0.6 seconds" at DEBUG to
    # stderr; that noise would land in every `newsarchive search` and crawl log.
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.initialize()
    return jieba.dt


def tokens(text: str) -> Iterator[tuple[str, bool]]:
    """(token, is_subword) in index order: a word's sub-words come just before the word.

    The same rule as `jieba.cut_for_search`, written out so that we know which tokens are
    the extra sub-words.
    """
    dt = tokenizer()
    for word in dt.cut(text):
        if len(word) > 2:
            for i in range(len(word) - 1):
                if dt.FREQ.get(word[i:i + 2]):
                    yield word[i:i + 2], True
        if len(word) > 3:
            for i in range(len(word) - 2):
                if dt.FREQ.get(word[i:i + 3]):
                    yield word[i:i + 3], True
        yield word, False


def segment(text: str | None) -> str:
    """The indexed form of `text`: words joined by SEP, sub-words marked with SUB."""
    if not text:
        return ""
    clean = text.translate(_RESERVED)
    return SEP.join(SUB + token if sub else token for token, sub in tokens(clean))


def unsegment(indexed: str) -> str:
    """The original text back from its indexed form, keeping highlight markers balanced."""
    out: list[str] = []
    inside = False

    def emit(piece: str) -> None:
        nonlocal inside
        for part in re.split(f"([{HL_OPEN}{HL_CLOSE}])", piece):
            if part == HL_OPEN:
                if not inside:
                    out.append(HL_OPEN)
                    inside = True
            elif part == HL_CLOSE:
                if inside:
                    out.append(HL_CLOSE)
                    inside = False
            else:
                out.append(part)

    pending = ""  # highlight markers met on sub-words, to place around the next word
    for piece in indexed.split(SEP):
        if piece.startswith(SUB):
            pending += "".join(ch for ch in piece if ch in (HL_OPEN, HL_CLOSE))
            continue
        if HL_OPEN in pending:
            emit(HL_OPEN)
        emit(piece)
        if pending.endswith(HL_CLOSE):
            emit(HL_CLOSE)
        pending = ""
    if inside:
        out.append(HL_CLOSE)
    return "".join(out)


def to_match(query: str) -> str:
    """An FTS5 MATCH expression for what a user typed: each chunk a phrase, all required.

    Never raises and never returns FTS5 syntax errors: every token is quoted, so the user's
    OR, NOT, *, ( or : are searched for as words (or dropped, being punctuation). A query
    with no words at all gives '""', which matches nothing.
    """
    phrases = []
    for quoted, bare in _CHUNK.findall(query or ""):
        words = [tok for tok, _ in tokens((quoted or bare).translate(_RESERVED))
                 if _WORDISH.search(tok)]
        if words:
            phrases.append('"' + " ".join(w.replace('"', '""') for w in words) + '"')
    return " AND ".join(phrases) or '""'


def snippet(marked: str, width: int = 80) -> str:
    """About `width` characters of un-segmented, highlighted text around the first match.

    The window starts at the beginning of the sentence or line holding the match when that
    is close enough; line breaks become spaces so a snippet is one line; "…" marks a cut.
    """
    start = marked.find(HL_OPEN)
    if start < 0:
        start = 0
    lo = max(0, start - width // 3)
    boundary = max(marked.rfind(stop, lo, start) for stop in ("\n", "。", "！", "？"))
    if boundary >= 0:
        lo = boundary + 1
    hi = lo
    visible = 0
    while hi < len(marked) and visible < width:
        if marked[hi] not in (HL_OPEN, HL_CLOSE):
            visible += 1
        hi += 1
    window = marked[lo:hi]
    if window.count(HL_OPEN) > window.count(HL_CLOSE):
        window += HL_CLOSE
    window = re.sub(r"\s*\n\s*", " ", window).strip()
    return ("…" if lo > 0 else "") + window + ("…" if hi < len(marked) else "")


def index_article(db: Db, article_id: int,
                  segmented: tuple[str, str] | None = None) -> None:
    """Bring the index in step with the article's current title and body (or its absence).

    Runs inside the caller's transaction (ArchiveWriter.store), so the index never
    disagrees with `articles`; call it after every insert, update or re-extraction.
    `segmented`: (segment(title), segment(text)) of the row as it now stands, computed
    beforehand (the crawl does it in its extraction workers, off the reactor thread);
    without it the row is read back and segmented here.
    """
    if segmented is None:
        row = db.execute("select title, text from articles where id = ?",
                         [article_id]).fetchone()
        segmented = (segment(row[0]), segment(row[1])) if row is not None else None
    db.execute(f"delete from {FTS_TABLE} where rowid = ?", [article_id])
    if segmented is not None:
        db.execute(f"insert into {FTS_TABLE} (rowid, title, text) values (?, ?, ?)",
                   [article_id, *segmented])


def rebuild_index(db: Db) -> int:
    """Re-index every article from scratch (one transaction); return how many."""
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    if conn.in_transaction:
        return _rebuild(conn)
    with conn:
        return _rebuild(conn)


def _rebuild(conn: sqlite3.Connection) -> int:
    conn.execute(f"delete from {FTS_TABLE}")
    count = 0
    for article_id, title, text in conn.execute("select id, title, text from articles"):
        conn.execute(f"insert into {FTS_TABLE} (rowid, title, text) values (?, ?, ?)",
                     [article_id, segment(title), segment(text)])
        count += 1
    conn.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('optimize')")
    return count


def search(db: Db, query: str, *, source: str | None = None, since: str | None = None,
           limit: int = 20) -> list[dict[str, Any]]:
    """Articles matching `query`, newest first, with highlighted un-segmented title and snippet.

    `since` compares with published_at as written (Beijing time for NetEase), falling back
    to first_seen_at for articles without a date; '2025-11-14' means from that day on.
    """
    match = to_match(query)
    where = [f"a.id in (select rowid from {FTS_TABLE} where {FTS_TABLE} match :match)"]
    params: dict[str, Any] = {"match": match, "limit": limit}
    if source:
        where.append("a.source = :source")
        params["source"] = source
    if since:
        where.append("coalesce(a.published_at, a.first_seen_at) >= :since")
        params["since"] = since
    # Pick the page of hits first, then highlight only those: highlight() re-reads the whole
    # body, which over every hit of a common word would cost seconds.
    sql = f"""
    with hits as (
        select a.id from articles a where {" and ".join(where)}
        order by coalesce(a.published_at, a.first_seen_at) desc, a.id desc limit :limit
    )
    select a.id, a.title, a.url, a.source, a.published_at, a.first_seen_at,
           highlight({FTS_TABLE}, 0, :open, :close) as title_marked,
           highlight({FTS_TABLE}, 1, :open, :close) as text_marked
    from {FTS_TABLE} join articles a on a.id = {FTS_TABLE}.rowid
    where {FTS_TABLE} match :match and {FTS_TABLE}.rowid in (select id from hits)
    order by coalesce(a.published_at, a.first_seen_at) desc, a.id desc
    """
    params.update({"open": HL_OPEN, "close": HL_CLOSE})
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    hits = []
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        title = unsegment(row.pop("title_marked") or "")
        row["title_marked"] = title or (row["title"] or "")
        row["snippet"] = snippet(unsegment(row.pop("text_marked") or ""))
        hits.append(row)
    return hits
