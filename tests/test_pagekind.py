"""The generic path's article decision (pipelines/pagekind.py) and its fallback through
trafilatura's modes (pipelines/generic.py): listings, notices and widgets are not
articles; an article trafilatura finds in any mode is never lost."""

from __future__ import annotations

import pytest
from lxml.html import document_fromstring

from pipelines.extract import explain, extract_article
from pipelines.generic import SLIVER_CHARS, Attempt, fuller_of
from pipelines.pagekind import MIN_PROSE, anchor_texts, classify

URL = "https://example.org/news/story.html"
HEADLINES = [f"第{i}条新闻标题：某地召开会议部署工作" for i in range(20)]
# Short Chinese paragraphs: no line reaches MIN_PROSE, but they are an article.
SHORT_PARAGRAPHS = [f"第{i}段，记者从市里获悉，当天下午有关部门召开会议。" for i in range(12)]
PROSE = (
    "The council met on Tuesday to discuss the flood defences, and the mayor said the "
    "work would start in spring after a consultation with residents of the river quarter."
)


def _anchors(texts: list[str]) -> set[str]:
    links = "".join(f"<a href='/{i}'>{t}</a>" for i, t in enumerate(texts))
    return anchor_texts(document_fromstring(f"<html><body>{links}</body></html>"))


def test_a_prose_line_makes_an_article() -> None:
    verdict = classify(f"Short title\n{PROSE}", set())
    assert verdict.article and verdict.reasons == ()
    assert verdict.longest_prose >= MIN_PROSE


def test_a_link_is_not_prose_even_when_long() -> None:
    # The same long line, when it is a headline (the text of a link), proves nothing.
    verdict = classify(PROSE, _anchors([PROSE]))
    assert not verdict.article
    assert any(r.startswith("headlines") for r in verdict.reasons)


def test_prose_with_links_inside_is_prose() -> None:
    verdict = classify(PROSE, _anchors(["the mayor", "flood defences"]))
    assert verdict.article


def test_headline_list_is_not_an_article() -> None:
    lines = [f"{h} 2025-11-14 08:12" for h in HEADLINES]
    verdict = classify("\n".join(lines), _anchors(HEADLINES))
    assert not verdict.article
    assert verdict.link_share >= 0.5
    assert {r.split(":")[0] for r in verdict.reasons} >= {"no prose line", "headlines"}


def test_ranking_table_is_not_an_article() -> None:
    rows = ["| 标题 | 点击数 |", "|---|---|"] + [
        f"| {i}{h} | {100000 - i} |" for i, h in enumerate(HEADLINES)
    ]
    verdict = classify("\n".join(rows), _anchors([f"{i}{h}" for i, h in enumerate(HEADLINES)]))
    assert not verdict.article


def test_short_paragraphs_are_an_article() -> None:
    assert max(map(len, SHORT_PARAGRAPHS)) < MIN_PROSE
    verdict = classify("\n".join(SHORT_PARAGRAPHS), set())
    assert verdict.article, verdict.reasons


def test_a_repeated_widget_is_not_an_article() -> None:
    text = "\n".join(["用微信扫码二维码", "分享至好友和朋友圈"] * 30)
    verdict = classify(text, set())
    assert not verdict.article
    assert any(r.startswith("repeated: 2 distinct lines of 60") for r in verdict.reasons)


@pytest.mark.parametrize(
    "text",
    ["抱歉，您访问的页面不存在\n5秒后自动跳转到网易首页",
     "文章已删除\n抱歉，您访问的内容不存在或已被作者删除",
     "404 Not Found\nThe page you requested could not be found on this server, sorry."],
)
def test_notices_are_not_articles(text: str) -> None:
    verdict = classify(text, set())
    assert not verdict.article and verdict.reasons[0].startswith("notice")


def test_an_article_mentioning_404_is_an_article() -> None:
    text = "\n".join([PROSE + " The site showed a 404 page for hours."] * 4)
    assert classify(text, set()).article


def test_empty_text() -> None:
    assert classify("  \n ", set()).reasons == ("empty: no text",)


def _page(wrapper: str, paragraphs: list[str]) -> str:
    tag = wrapper.split()[0]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>测试</title></head><body><{wrapper}>{body}</{tag}></body></html>"


@pytest.mark.parametrize(
    ("wrapper", "mode"),
    [("div", "precision"), ("nav", "default"), ("aside", "recall")],
)
def test_falls_back_through_the_modes(wrapper: str, mode: str) -> None:
    # trafilatura's precision mode drops a <nav>, its default mode an <aside> too: the
    # story is still found, by the first mode that finds it.
    html = _page(wrapper, [p + "研究部署下一阶段的防汛工作。" for p in SHORT_PARAGRAPHS])
    article = extract_article(html.encode(), URL)
    assert article is not None and "第11段" in article["text"]
    lines = explain(html.encode(), URL)
    chosen = [line for line in lines if line.endswith("(chosen)")]
    assert len(chosen) == 1 and chosen[0].startswith(f"{mode}:"), lines
    assert lines[0].startswith("precision:")


def test_a_listing_page_gives_none_with_reasons_for_every_mode() -> None:
    items = "".join(f"<li><a href='/a/{i}.html'>{h}</a> 2025-11-14</li>"
                    for i, h in enumerate(HEADLINES))
    html = f"<html><head><title>滚动新闻</title></head><body><ul>{items}</ul></body></html>"
    assert extract_article(html.encode(), URL) is None
    lines = explain(html.encode(), URL)
    assert [line.split(":")[0] for line in lines] == ["precision", "default", "recall"]
    assert not any("(chosen)" in line for line in lines)


def _attempt(mode: str, text: str) -> Attempt:
    return Attempt(mode, None, text, classify(text, set()))


def test_a_precision_sliver_loses_to_the_default_article() -> None:
    sliver = _attempt("precision", PROSE)
    full = _attempt("default", "\n".join([PROSE] * 12))
    assert len(sliver.text) < SLIVER_CHARS
    assert fuller_of(sliver, full) is full
    # Precision's own article stands when the default text is not much longer ...
    assert fuller_of(sliver, _attempt("default", "\n".join([PROSE] * 2))) is sliver
    # ... or is no article.
    widget = _attempt("default", "\n".join(["分享至好友和朋友圈", "扫码"] * 200))
    assert fuller_of(sliver, widget) is sliver
