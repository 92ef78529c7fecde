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

The segmenter is jieba's algorithm and dictionary as compiled code (rjieba, the jieba-rs
binding: ~40 times quicker than the jieba package and ~50 MB less per process), held to
give exactly jieba 0.42's cut (see words()); tests/test_search.py compares the two.

A query is cut the same way, so the same words in the same context give the same token
sequence: each whitespace-separated chunk (or "quoted phrase") of the query becomes one
FTS5 phrase, and all chunks must match (AND). Matching is by words, not substrings: 联网小镇
does not find 互联网小镇, since the text's words are 互联网 / 小镇.

Between chunks, `OR` (in capitals) makes either chunk enough, binding tighter than the
implicit AND (`龙湖 OR 万科 地产` is 龙湖 or 万科, and 地产), and a chunk written `-word`
or `-"a phrase"` excludes the articles holding it. A watch (archive/watches.py) matches
with the same expression.

Both the index and the query are folded first (archive/textfold.py): Traditional script
to Simplified (OpenCC), full-width forms to half-width (NFKC), so 烏鎮 finds 乌镇. The
fold keeps every character one character, so highlights are put back on the original.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import sqlite_utils

from archive.textfold import fold, restore

FTS_TABLE = "articles_fts"
TOKENIZE = "unicode61 remove_diacritics 2"  # the index's tokenizer (m003)
SEP = "\u200b"
SUB = "\u2060"
# Highlight markers handed to FTS5's highlight(): private-use characters, which no article
# text we index carries (we strip them), so they can be found again unambiguously.
HL_OPEN = "\ue000"
HL_CLOSE = "\ue001"
_RESERVED = str.maketrans("", "", SEP + SUB + HL_OPEN + HL_CLOSE)
_WORDISH = re.compile(r"\w")  # a token FTS5 would keep: it has a letter or digit
# A chunk of a query: maybe "-" (exclude), then a "quoted phrase" (maybe unclosed) or a word.
_CHUNK = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')

Db = sqlite_utils.Database | sqlite3.Connection
# ((title, text), (segment(title), segment(text))): texts with their indexed form.
Presegmented = tuple[tuple[str | None, str | None], tuple[str, str]]


# jieba 0.42's own patterns (jieba/__init__.py: re_han_default, re_skip_default;
# jieba/finalseg: re_skip): the runs of text it segments, the rest it keeps as it is.
_BLOCK = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)")
_SPACE = re.compile("(\r\n|\\s)")
_HAN = re.compile("[\u4E00-\u9FD5]")
_LATIN_PIECES = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


@functools.cache
def tokenizer() -> ModuleType:
    """The segmenter (rjieba: jieba's dictionary compiled in), loaded once per process."""
    import rjieba

    return rjieba


def words(text: str) -> list[str]:
    """`jieba.cut(text)` (jieba 0.42, HMM on), cut by rjieba.

    jieba-rs differs from jieba in two places, both outside Chinese: it treats more
    characters as word characters (CJK extension A, 㐀, say), and it keeps latin runs
    joined by - . _ whole (re-elected, 08008.HK, 71.6million) where jieba splits them
    (re, -, elected). So the text is split into jieba's runs here, with jieba's patterns,
    and a latin token that is not a dictionary word is split as jieba's HMM step splits
    it. tests/test_search.py holds the result to jieba's on generated and real texts.
    """
    jieba = tokenizer()
    out: list[str] = []
    for block in _BLOCK.split(text):
        if not block:
            continue
        if not _BLOCK.match(block):  # jieba keeps spaces and line breaks whole, other
            for part in _SPACE.split(block):  # characters one by one
                if _SPACE.match(part):
                    out.append(part)
                else:
                    out.extend(part)
        elif block.isalnum():  # Chinese, latin and digits only: nothing to mend
            out.extend(jieba.cut(block))
        else:
            for word in jieba.cut(block):
                if (len(word) > 1 and not word.isalnum() and not _HAN.search(word)
                        and not jieba.has_word(word)):
                    out.extend(piece for piece in _LATIN_PIECES.split(word) if piece)
                else:
                    out.append(word)
    return out


def tokens(text: str) -> Iterator[tuple[str, bool]]:
    """(token, is_subword) in index order: a word's sub-words come just before the word.

    The same rule as `jieba.cut_for_search`, written out so that we know which tokens are
    the extra sub-words.
    """
    for token in _indexed(text):
        if token.startswith(SUB):
            yield token[1:], True
        else:
            yield token, False


def _indexed(text: str) -> list[str]:
    """tokens(text) as the index holds them: sub-words prefixed with SUB. One list, no
    generators: segmenting is a worker's largest cost after extraction itself."""
    has_word = tokenizer().has_word
    out: list[str] = []
    for word in words(fold(text)):
        size = len(word)
        if size > 2:
            out.extend(SUB + word[i:i + 2] for i in range(size - 1) if has_word(word[i:i + 2]))
            if size > 3:
                out.extend(SUB + word[i:i + 3] for i in range(size - 2)
                           if has_word(word[i:i + 3]))
        out.append(word)
    return out


def segment(text: str | None) -> str:
    """The indexed form of `text`: words joined by SEP, sub-words marked with SUB."""
    if not text:
        return ""
    return SEP.join(_indexed(text.translate(_RESERVED)))


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
    """An FTS5 MATCH expression for what a user typed (see the module's docstring).

    Never raises and never returns FTS5 syntax errors: every word is quoted, so only the
    query's OR and leading "-" are operators; FTS5's own NOT, *, ( or : are searched for
    as words (or dropped, being punctuation). A query with nothing to find (no words, or
    only excluded ones) gives '""', which matches nothing.
    """
    groups, excluded = parse_query(query)
    if not groups:
        return '""'
    expression = " AND ".join(f"({' OR '.join(group)})" if len(group) > 1 else group[0]
                              for group in groups)
    if excluded:
        expression = f"({expression}) NOT ({' OR '.join(excluded)})"
    return expression


def parse_query(query: str) -> tuple[list[list[str]], list[str]]:
    """(groups, excluded): the phrases of which one of each group must match, and the
    phrases none of which may; each a quoted FTS5 phrase of segmented words."""
    groups: list[list[str]] = []
    excluded: list[str] = []
    join_next = False
    for minus, quoted, bare in _CHUNK.findall(query or ""):
        if bare == "OR" and not minus and not quoted:
            join_next = bool(groups)
            continue
        phrase = _phrase(quoted or bare)
        if phrase is None:
            continue
        if minus:
            excluded.append(phrase)
        elif join_next:
            groups[-1].append(phrase)
        else:
            groups.append([phrase])
        join_next = False
    return groups, excluded


def _phrase(chunk: str) -> str | None:
    words = [tok for tok, _ in tokens(chunk.translate(_RESERVED)) if _WORDISH.search(tok)]
    if not words:
        return None
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"'


def phrases(query: str) -> list[str]:
    """The phrases a match may hold (not the excluded ones): what highlights mark."""
    return [phrase for group in parse_query(query)[0] for phrase in group]


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


def index_article(db: Db, article_id: int, segmented: tuple[str, str] | None = None,
                  previous: tuple[str | None, str | None] | None = None,
                  presegmented: Presegmented | None = None) -> None:
    """Bring the index in step with the article's current title and body (or its absence).

    Runs inside the caller's transaction (ArchiveWriter.store), so the index never
    disagrees with `articles`; call it after every insert, update or re-extraction.
    `segmented`: (segment(title), segment(text)) of the row as it now stands, computed
    beforehand (the crawl does it in its extraction workers, off the reactor thread);
    without it the row is read back and segmented here.

    `previous`: the (title, text) the row had when it was last indexed, required when it
    was. The table is contentless (m005: it keeps no copy of the text), so FTS5 removes
    a row's entries only when told the text they came from; segment() of that text gives
    exactly those, as long as segment() itself has not changed since (a change to it
    needs rebuild_index anyway: queries are cut the same way as the index).
    `presegmented`: ((title, text), (segment(title), segment(text))) computed beforehand
    (the crawl's workers, for a revisit): used when its texts are `previous`.
    """
    if segmented is None:
        row = db.execute("select title, text from articles where id = ?",
                         [article_id]).fetchone()
        segmented = (segment(row[0]), segment(row[1])) if row is not None else None
    if db.execute(f"select 1 from {FTS_TABLE} where rowid = ?", [article_id]).fetchone():
        if previous is None:
            raise ValueError(f"article {article_id} is indexed: re-indexing it needs the "
                             "title and text it was indexed with (previous=)")
        if presegmented is not None and tuple(presegmented[0]) == tuple(previous):
            old = presegmented[1]
        else:
            old = (segment(previous[0]), segment(previous[1]))
        db.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}, rowid, title, text) "
                   "values ('delete', ?, ?, ?)", [article_id, *old])
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
    sql = conn.execute("select sql from sqlite_master where name = ?", [FTS_TABLE]).fetchone()
    if sql and re.search(r"content\s*=\s*''", sql[0]):
        conn.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('delete-all')")
    else:  # m003's table, before m005 made it contentless
        conn.execute(f"delete from {FTS_TABLE}")
    count = 0
    for article_id, title, text in conn.execute("select id, title, text from articles"):
        conn.execute(f"insert into {FTS_TABLE} (rowid, title, text) values (?, ?, ?)",
                     [article_id, segment(title), segment(text)])
        count += 1
    conn.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('optimize')")
    return count


# Highlighting --------------------------------------------------------------------------
# The index keeps no text (contentless), so FTS5's highlight() has nothing to mark. The
# words are marked by FTS5 all the same, in a one-row table of a private in-memory
# database holding the segmented text of one line at a time: the same tokenizer and the
# same phrases as the search, so exactly what matched is marked.

_scratch = threading.local()


def _marker() -> sqlite3.Connection:
    conn = getattr(_scratch, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.execute(f"create virtual table one using fts5(text, tokenize = '{TOKENIZE}')")
        _scratch.conn = conn
    return conn


def _mark(text: str, expression: str) -> str | None:
    """`text` with what `expression` matches in it between HL_OPEN and HL_CLOSE; None
    when it matches nothing."""
    conn = _marker()
    with conn:
        conn.execute("delete from one")
        conn.execute("insert into one (rowid, text) values (1, ?)", [segment(text)])
        row = conn.execute("select highlight(one, 0, ?, ?) from one where one match ?",
                           [HL_OPEN, HL_CLOSE, expression]).fetchone()
    if not row or HL_OPEN not in row[0]:
        return None
    # The index holds the folded text (archive/textfold.py): mark the original instead.
    return restore(text.translate(_RESERVED), unsegment(row[0]), HL_OPEN + HL_CLOSE)


def mark_title(title: str | None, query: str) -> str:
    """The title with the query's words marked (as they matched: by words)."""
    found = phrases(query)
    marked = _mark(title, " OR ".join(found)) if title and found else None
    return marked or (title or "")


def text_snippet(text: str | None, query: str, width: int = 80) -> str:
    """About `width` characters of the text around the first match of the query, its
    words marked (see snippet()); the text's start when nothing in it matches.

    Only lines holding one of the query's words (a cheap substring test) are segmented,
    from the first on, and the lines after it as far as the window reaches; the whole
    text when no line passes the test (an accented word the index folds, say)."""
    text = text or ""
    found = phrases(query)
    if not found:
        return snippet(text, width)
    expression = " OR ".join(found)
    words = {w.casefold() for p in found for w in p.strip('"').replace('""', '"').split(" ")}
    lines = text.split("\n")
    offset = 0
    for i, line in enumerate(lines):
        folded = fold(line).casefold()
        marked = _mark(line, expression) if any(w in folded for w in words) else None
        if marked is None:
            offset += len(line) + 1
            continue
        after, reach = [], len(line) - marked.index(HL_OPEN)
        for more in lines[i + 1:]:  # marked as far as the window can reach
            after.append(_mark(more, expression) or more if reach < width else more)
            reach += len(more) + 1
        return snippet("\n".join([text[:offset] + marked, *after]), width)
    marked = _mark(text, expression)
    return snippet(marked or text, width)


def search(db: Db, query: str, *, source: str | None = None, since: str | None = None,
           limit: int = 20, sources: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Articles matching `query`, newest first, with highlighted un-segmented title and snippet.

    `sources`: only articles of these (a watch's `sources`); `source`: of this one.

    `since` compares with published_at as written (Beijing time for NetEase), falling back
    to first_seen_at for articles without a date; '2025-11-14' means from that day on.
    """
    match = to_match(query)
    where = [f"a.id in (select rowid from {FTS_TABLE} where {FTS_TABLE} match :match)"]
    params: dict[str, Any] = {"match": match, "limit": limit}
    if source:
        where.append("a.source = :source")
        params["source"] = source
    if sources is not None:
        where.append("a.source in (select value from json_each(:sources))")
        params["sources"] = json.dumps(list(sources))
    if since:
        where.append("coalesce(a.published_at, a.first_seen_at) >= :since")
        params["since"] = since
    # Pick the page of hits first, then mark only those (archive.fts: text_snippet).
    sql = f"""
    select a.id, a.title, a.url, a.source, a.published_at, a.first_seen_at, a.text
    from articles a where {" and ".join(where)}
    order by coalesce(a.published_at, a.first_seen_at) desc, a.id desc limit :limit
    """
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    hits = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        text = row.pop("text")
        row["title_marked"] = mark_title(row["title"], query)
        row["snippet"] = text_snippet(text, query)
        hits.append(row)
    return hits
