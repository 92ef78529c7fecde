"""Fold text for search: Traditional Chinese to Simplified (OpenCC), full-width forms to
half-width (NFKC), so that 烏鎮 finds 乌镇 and ＡＩ finds AI.

The index and every query are folded the same way (archive/fts.py), so the script a text
or a query is written in does not matter. A fold never changes the length of a text: each
character stays one character, so a position in the folded text is the same position in
the original, and search snippets show the original words with the folded matches marked
(`restore`). To keep that promise:

* NFKC is applied character by character, and a character whose compatibility form is
  longer (… -> "...", ﬁ -> "fi", ㈱ -> "(株)") is kept as it is: those are punctuation,
  ligatures and symbols, not what people search for;
* OpenCC's t2s conversion (characters and phrases) is used as it is when the result has
  the same length as its input, which it has for every text we have seen; otherwise the
  text is converted one character at a time.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from typing import Any

_local = threading.local()
SHORT = 200  # characters: below this, the fold looks at each character in Python


def _converter() -> Any:  # opencc ships no type hints
    """OpenCC's Traditional-to-Simplified converter, one per thread (it is not documented
    as thread-safe)."""
    conv = getattr(_local, "opencc", None)
    if conv is None:
        import opencc

        conv = _local.opencc = opencc.OpenCC("t2s")
    return conv


@functools.lru_cache(maxsize=4096)
def _nfkc_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


@functools.cache
def _compatibility_forms() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern that finds every character `_nfkc_char` may change, and what the ones
    of the Basic Multilingual Plane become. Built once per process (about 35 ms): a
    Chinese text has a few hundred such characters (full-width ，：（）) among thousands,
    and finding them with a regular expression is 5-9 times faster than looking at each
    character in Python. Astral characters are all matched and looked at one by one."""
    table: dict[str, str] = {}
    for code in range(0x80, 0x10000):
        if 0xD800 <= code < 0xE000:  # surrogates: not characters
            continue
        ch = chr(code)
        if (folded := _nfkc_char(ch)) != ch:
            table[ch] = folded
    pattern = re.compile("[" + "".join(map(re.escape, table)) + "\U00010000-\U0010FFFF]")
    return pattern, table


def load_tables() -> None:
    """Build the fold's tables now (a process that forks workers, before it forks them):
    OpenCC's dictionaries and the pattern of the characters NFKC changes."""
    _converter()
    _compatibility_forms()


def _nfkc(text: str) -> str:
    """NFKC applied to each character on its own (a longer form keeps the character)."""
    if text.isascii():
        return text
    if len(text) < SHORT:  # a query or a title: not worth building the pattern for
        return "".join(_nfkc_char(ch) for ch in text)
    pattern, table = _compatibility_forms()
    return pattern.sub(lambda match: table.get(ch := match[0]) or _nfkc_char(ch), text)


def fold(text: str) -> str:
    """`text` as search sees it: Simplified script, half-width forms; the same length."""
    if not text:
        return text
    text = _nfkc(text)
    if text.isascii():
        return text
    conv = _converter()
    folded = conv.convert(text)
    if len(folded) != len(text):
        folded = "".join(c if len(c := conv.convert(ch)) == 1 else ch for ch in text)
    return folded


def restore(original: str, folded_marked: str, markers: str) -> str:
    """The original text with the markers (characters in `markers`) found in
    `folded_marked`, the folded text with those markers inserted, at the same places."""
    out: list[str] = []
    position = 0
    for ch in folded_marked:
        if ch in markers:
            out.append(ch)
        else:
            out.append(original[position] if position < len(original) else ch)
            position += 1
    return "".join(out)
