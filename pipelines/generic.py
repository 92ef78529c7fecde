"""The generic path's extraction: trafilatura's modes, tried until one finds an article.

Precision mode scores best where it finds the article, and returns nothing or a sliver
on many real pages; the page is declared empty only when every mode's text fails the
classifier (`pipelines.pagekind`). Measured: docs/extraction-quality.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import trafilatura
from lxml.html import HtmlElement

from pipelines.pagekind import Verdict, classify, declares_article

# Where a <title> joins the headline to the site's name: "标题_教育频道_中国青年网",
# "标题--时政--人民网", "Headline | The Site", "Headline - The Site".
_TITLE_JOINT = re.compile(r"\s*(?:_|--|——|\||｜)\s*|\s+[-–—]\s+")
# A trailing part of a Chinese <title> that names the site or channel, not the story.
_SITE_PART = re.compile(r"^.{0,12}(?:网|频道|新闻|日报|晚报|报|中心|在线|客户端|首页)$")
# Trafilatura options shared by both paths; comments are never article text.
TRAFILATURA = {"include_comments": False, "include_tables": True, "deduplicate": False}
# trafilatura's modes, tried in this order until one finds an article (see
# best_attempt). Precision first: body F1 0.965 on the scrapinghub benchmark against
# 0.959 in the default mode; but it returns nothing or a sliver on many real pages.
MODES: tuple[tuple[str, dict[str, bool]], ...] = (
    ("precision", {"favor_precision": True}),
    ("default", {}),
    ("recall", {"favor_recall": True}),
)
# A precision text this short is checked against the default mode's, which wins when
# precision kept less than SLIVER_SHARE of it (a caption or a teaser instead of the story).
SLIVER_CHARS = 500
SLIVER_SHARE = 0.25


def text_lines(text: str | None) -> str:
    """trafilatura's text as one paragraph a line, blank lines and edge spaces gone."""
    if not text:
        return ""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class Attempt:
    """One trafilatura mode's result on a page, and the classifier's verdict on it."""

    mode: str
    doc: Any
    text: str
    verdict: Verdict


def attempt(
    tree: HtmlElement, url: str, anchors: set[str], mode: str, declared: bool = False
) -> Attempt:
    # No image mode: it makes trafilatura choose other blocks (0.955 on scrapinghub).
    try:
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, **dict(MODES)[mode], **TRAFILATURA
        )
    except Exception:  # trafilatura on hostile markup: this mode found nothing
        doc = None
    text = text_lines(getattr(doc, "text", None))
    title = getattr(doc, "title", None)
    return Attempt(mode, doc, text, classify(text, anchors, title, declared))


def best_attempt(
    tree: HtmlElement, url: str, anchors: set[str]
) -> tuple[Attempt | None, list[Attempt]]:
    """The first mode whose text is an article (None if none is), and every attempt.

    trafilatura works on a copy: the page tree stays intact between attempts and for
    the metadata and images read afterwards.
    """
    declared = declares_article(tree)
    tried = [attempt(tree, url, anchors, "precision", declared)]
    if tried[0].verdict.article:
        if len(tried[0].text) >= SLIVER_CHARS:
            return tried[0], tried
        tried.append(attempt(tree, url, anchors, "default", declared))
        return fuller_of(tried[0], tried[1]), tried
    for mode in ("default", "recall"):
        tried.append(attempt(tree, url, anchors, mode, declared))
        if tried[-1].verdict.article:
            return tried[-1], tried
    return None, tried


def fuller_of(precision: Attempt, default: Attempt) -> Attempt:
    """Precision's article, unless it is a sliver of the default mode's article."""
    if default.verdict.article and len(precision.text) < SLIVER_SHARE * len(default.text):
        return default
    return precision


def headline(title: str | None, tree: HtmlElement) -> str | None:
    """The story's title without the site's name that <title> appends: the part before
    a joint when the page shows it as a heading; else, for Chinese portals' underscore
    and double-dash joints, without the trailing parts that name a channel or site."""
    if not title:
        return title
    headings = {" ".join(h.text_content().split()) for h in tree.xpath("//h1 | //h2")[:20]}
    for joint in _TITLE_JOINT.finditer(title):
        head = title[: joint.start()].strip()
        if head in headings:
            return head
    pieces = re.split(r"(_|--|——)", title)  # the parts, with the joints between them
    cut = False  # once the site's name is cut, a short part before it is its channel
    while len(pieces) > 1 and (
        _SITE_PART.match(pieces[-1].strip()) or (cut and len(pieces[-1].strip()) <= 4)
    ):
        del pieces[-2:]
        cut = True
    return "".join(pieces).strip() or title
