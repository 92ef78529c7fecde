"""Is this an article? The generic path's decision on trafilatura's text, with reasons.

Without a site template nothing says where the article is, so trafilatura extracts the
best block of any page: on a listing that is a ranking table or a column of headlines,
on a deleted article the notice, on a channel page a share widget repeated per story.
This module decides from that text, plus the page's links, whether it reads like an
article. It must not lose a real article (a monitor that drops one is worse than one
that keeps a stray listing), so an article needs only one of two kinds of evidence:

- a prose line: a run of at least `MIN_PROSE` characters that is not the text of a link
  (headlines are links; paragraphs are not, though they may contain some) and, in a
  Chinese or Japanese text, has a clause mark (，。；、), or
- enough prose in short lines: at least `MIN_LETTERS` letters outside links, in lines
  that are mostly not links, mostly not repeated and, in CJK, mostly sentences (Chinese
  news in short paragraphs).

A page whose metadata declares an article (og:type, a publish time, schema.org markup:
`DECLARES_ARTICLE`) needs only `MIN_LETTERS_DECLARED` letters of sentences: a brief of
three sentences is still news. Short texts announcing an error or a deletion are
notices whatever the page declares.
Measured on real listing pages and article sets: docs/extraction-quality.md
(`bench/generic_path.py` reproduces the figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

# The shortest paragraph that reads as prose, in characters (a CJK sentence of this
# length says a lot; headlines, table cells, dates and buttons stay below it).
MIN_PROSE = 50
# Letters outside links that make an article of short lines.
MIN_LETTERS = 200
# At or above this share of link text, a text without a prose line is a headline list.
MAX_LINK_SHARE = 0.5
# Below this share of distinct lines, the text is one widget repeated per story.
MIN_DISTINCT = 0.5
# Notices are short; an article that mentions "404" in its body is not one.
NOTICE_LETTERS = 300
NOTICE = re.compile(
    r"404|not found|page (?:does not|doesn't) exist|no longer (?:available|exists)"
    r"|页面不存在|页面没有找到|找不到(?:该|此|您)|(?:已|被)(?:作者)?删除|内容不存在|文章不存在"
    r"|已下线|无法访问|访问的页面",
    re.I,
)
# Chinese (and Japanese) prose has clause marks; headlines, menus and captions mostly do
# not. In a CJK text a prose run needs one, and an article of short paragraphs needs
# MIN_SENTENCES of its characters in lines that have one (a portal's home page rendered
# without its links is headlines, channel names and counters).
_CLAUSE = re.compile(r"[，。；、]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MIN_SENTENCES = 0.5
# A page that declares itself an article (og:type article or news, a publish time in its
# metadata, schema.org Article markup) needs less: MIN_LETTERS_DECLARED letters of
# sentences, as in a three-sentence brief. Listing pages do not declare a publish time.
MIN_LETTERS_DECLARED = 50
DECLARES_ARTICLE = (
    '//meta[@property="og:type"][contains(@content, "article") or @content="news"]'
    ' | //meta[@property="article:published_time"]'
    ' | //*[@itemprop="datePublished" or @itemprop="articleBody"]'
    ' | //meta[translate(@name, "PUBLISHDATE", "publishdate") = "publishdate"'
    ' or translate(@name, "PUBDATE", "pubdate") = "pubdate"]'
    ' | //script[@type="application/ld+json"][contains(., "NewsArticle")'
    ' or contains(., \'"Article"\') or contains(., "BlogPosting")]'
)
# Links shorter than this are words inside prose ("here", "他说") as often as headlines.
_MIN_ANCHOR = 4
_LETTER = re.compile(r"[^\W\d_]")
_MARK = "\x00"


@dataclass(frozen=True)
class Verdict:
    """The decision on one text; `reasons` say why it is not an article (empty if it is)."""

    article: bool
    reasons: tuple[str, ...]
    longest_prose: int = 0  # characters of the longest run outside links
    letters: int = 0  # letters outside links
    link_share: float = 0.0  # characters inside links / all characters
    distinct: float = 1.0  # distinct lines / lines
    sentences: float = 1.0  # CJK text: characters outside links in lines with a clause mark
    declared: bool = False  # the page's metadata says it is an article


def anchor_texts(tree: HtmlElement) -> set[str]:
    """The page's link texts, whitespace-normalised, long enough to be headlines."""
    found = set()
    for anchor in tree.iter("a"):
        text = " ".join(anchor.text_content().split())
        if len(text) >= _MIN_ANCHOR:
            found.add(text)
    return found


class _Links:
    """Link texts, longest first, for cutting them out of lines."""

    def __init__(self, anchors: set[str]) -> None:
        self.exact = anchors
        self.by_length = sorted(anchors, key=len, reverse=True)

    def outside(self, line: str) -> list[str]:
        """The parts of `line` that are not the text of a link."""
        if line in self.exact:
            return []
        rest = line
        for anchor in self.by_length:
            if len(anchor) <= len(rest) and anchor in rest:
                rest = rest.replace(anchor, _MARK)
        return [part.strip(" -|·•") for part in rest.split(_MARK)]

    def cells(self, line: str) -> list[str]:
        """Table rows come as "| cell | cell |": each cell's text outside links (a
        paragraph with links inside is still one paragraph; a headline is nothing)."""
        return ["".join(self.outside(cell.strip())) for cell in line.split("|")]


def declares_article(tree: HtmlElement) -> bool:
    """Whether the page's metadata says it is an article (see DECLARES_ARTICLE)."""
    return bool(tree.xpath(DECLARES_ARTICLE))


def classify(
    text: str, anchors: set[str], title: str | None = None, declared: bool = False
) -> Verdict:
    """Whether `text` (trafilatura's, one paragraph a line) is an article of its page."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return Verdict(False, ("empty: no text",))
    links = _Links(anchors)
    notice = NOTICE.search(text) or NOTICE.search(title or "")
    sample = text[:3000]
    cjk = len(_CJK.findall(sample)) * 4 >= len(_LETTER.findall(sample))

    def prose(part: str) -> int:
        return len(part) if not cjk or _CLAUSE.search(part) else 0

    if not notice:  # the cheap way first: most articles' longest line is prose
        for line in sorted(lines, key=len, reverse=True):
            if len(line) < MIN_PROSE:
                break
            longest = max(map(prose, links.cells(line)), default=0)
            if longest >= MIN_PROSE:
                return Verdict(True, (), longest_prose=longest, declared=declared)
    parts = [part for line in lines for part in links.cells(line)]
    total = sum(map(len, lines))
    outside = sum(map(len, parts))
    features = {
        "longest_prose": max(map(prose, parts), default=0),
        "letters": sum(len(_LETTER.findall(part)) for part in parts),
        "link_share": round(1 - outside / total, 3),
        "distinct": round(len(set(lines)) / len(lines), 3),
        "sentences": round(sum(map(prose, parts)) / outside, 3) if cjk and outside else 1.0,
        "declared": declared,
    }
    return _decide(notice, features, len(lines))


def _decide(notice: re.Match[str] | None, features: dict, lines: int) -> Verdict:
    longest, letters = features["longest_prose"], features["letters"]
    share, distinct = features["link_share"], features["distinct"]
    if notice and letters < NOTICE_LETTERS:
        return Verdict(
            False, (f"notice: {notice.group(0)!r} in a text of {letters} letters",), **features
        )
    if longest >= MIN_PROSE:
        return Verdict(True, (), **features)
    # No prose line: an article of short paragraphs still has plenty of letters outside
    # links, in lines that are not one widget repeated.
    reasons = [
        f"no prose line: the longest prose run outside links is {longest} characters"
        f" (< {MIN_PROSE})"
    ]
    least = MIN_LETTERS_DECLARED if features["declared"] else MIN_LETTERS
    if letters < least:
        reasons.append(f"little prose: {letters} letters outside links (< {least})")
    if share >= MAX_LINK_SHARE:
        reasons.append(f"headlines: {share:.0%} of the text is link text")
    if distinct < MIN_DISTINCT:
        reasons.append(f"repeated: {round(distinct * lines)} distinct lines of {lines}")
    if features["sentences"] < MIN_SENTENCES:
        reasons.append(f"no sentences: {features['sentences']:.0%} of the text outside links"
                       " is in lines with a clause mark (，。；、)")
    if len(reasons) == 1:  # short paragraphs, but an article
        return Verdict(True, (), **features)
    return Verdict(False, tuple(reasons), **features)
