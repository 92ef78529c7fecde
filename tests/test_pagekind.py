"""The generic path's article decision (pipelines/pagekind.py) and its fallback through
trafilatura's modes (pipelines/generic.py): listings, notices and widgets are not
articles; an article trafilatura finds in any mode is never lost."""

from __future__ import annotations

import pytest
from lxml.html import document_fromstring

from pipelines.extract import explain, extract_article
from pipelines.generic import SLIVER_CHARS, Attempt, fuller_of
from pipelines.pagekind import MIN_PROSE, anchor_texts, classify, declares_article

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


def test_a_chinese_headline_is_not_prose_without_a_clause_mark() -> None:
    # A portal home page whose top story is not a link in the saved page: a 50-character
    # headline, channel names and counters. Chinese prose has ，or 。; headlines need not.
    headline = ("00后比90后少了4700万！这些大省出手了！"
                "专家：人口负增长拐点或在2027年前到来 多地出台新政")
    assert len(headline) >= MIN_PROSE
    menu = ["要闻", "北京", "娱乐", "体育", "军事", "国际", "科技", "财经", "分享", "QQ空间"]
    verdict = classify("\n".join([*menu, headline, "21世纪经济报道", "9小时前", "845"]), set())
    assert not verdict.article
    assert any(r.startswith("no sentences") for r in verdict.reasons)
    # the same length of real prose is an article
    prose = ("记者从市里获悉，当天下午有关部门召开会议，"
             "研究部署下一阶段的防汛抗旱和安全生产工作，要求各区县落实责任。")
    assert classify("\n".join([*menu, prose]), set()).article


def test_short_chinese_lines_without_sentences_are_not_an_article() -> None:
    menu = [f"{city}新闻频道{i}" for i in range(10) for city in ("北京", "上海", "广州", "深圳")]
    verdict = classify("\n".join(menu), set())
    assert verdict.letters >= 200 and verdict.distinct == 1.0
    assert not verdict.article and verdict.sentences == 0.0


BRIEF = ("北京时间5月20日，步行者130-109战胜尼克斯，大比分4-3晋级东部决赛。\n"
         "尼克斯官方宣布，布伦森第三节遭遇左手骨折，本场比赛不会回归。\n"
         "布伦森全场出战29分钟，17中6得到17分9助攻。")


def test_a_brief_is_an_article_when_the_page_declares_one() -> None:
    # Three sentences, none of 50 characters: too little for a page that says nothing
    # about itself, enough for one whose metadata declares an article.
    assert not classify(BRIEF, set()).article
    assert classify(BRIEF, set(), declared=True).article
    assert not classify("抱歉，您访问的页面不存在", set(), declared=True).article


@pytest.mark.parametrize(
    ("head", "declared"),
    [
        ('<meta property="og:type" content="article">', True),
        ('<meta property="og:type" content="news">', True),
        ('<meta itemprop="datePublished" content="2024-05-20 06:48">', True),
        ('<meta name="publishdate" content="2024-05-15">', True),
        ('<script type="application/ld+json">{"@type": "NewsArticle"}</script>', True),
        ('<meta property="og:type" content="website">', False),
        ("", False),
    ],
)
def test_pages_that_declare_an_article(head: str, declared: bool) -> None:
    paragraphs = "".join(f"<p>{line}</p>" for line in BRIEF.splitlines())
    html = f"<html><head>{head}</head><body>{paragraphs}</body></html>"
    assert declares_article(document_fromstring(html)) is declared
    article = extract_article(html.encode(), URL)
    assert (article is not None) is declared
    if article is not None:
        assert "布伦森全场出战29分钟" in article["text"]


def test_a_paragraph_with_links_inside_is_one_paragraph() -> None:
    # Links to 河北省遵化市 and 无人驾驶农机 cut the paragraph into runs under 50 characters;
    # what is outside the links is still a paragraph of prose.
    line = ("眼下，植保无人机、无人驾驶农机等在河北省遵化市的田间地头忙碌，助力农业生产。"
            "近年来，河北省遵化市积极推行农机无人驾驶耕种和无人机植保作业等数字农机服务工作。")
    verdict = classify(line, _anchors(["河北省遵化市", "无人驾驶农机"]))
    assert verdict.article and verdict.longest_prose >= MIN_PROSE
