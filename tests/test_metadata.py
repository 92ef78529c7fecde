"""Metadata a user can trust: credits without labels, counters or share text; a date
without a time kept as a date and flagged, through extraction and into the archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml.html import document_fromstring

from archive import open_archive
from archive.store import ArchiveWriter
from conftest import make_article, make_page
from pipelines.extract import extract_article
from pipelines.generic import headline
from pipelines.sites.base import BEIJING, clean_credit, is_date_only, parse_datetime


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("第一财经日报 网友评论 0 条", "第一财经日报"),
        ("第一财经日报网友评论0条", "第一财经日报"),
        ("人民日报海外版 阅读(1234)", "人民日报海外版"),
        ("央视新闻客户端 | 分享到", "央视新闻客户端"),
        ("新华社 举报", "新华社"),
        ("来源：新华网", "新华网"),
        ("本文来源: 中国新闻网", "中国新闻网"),
        ("Source: Reuters", "Reuters"),
        ("By Jane Smith", "Jane Smith"),
        ("人民网-观点频道", "人民网-观点频道"),
        ("网易商业报道", "网易商业报道"),
        ("作者", None),
        ("来源：", None),
        ("分享到微信朋友圈", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_credit(raw: str | None, clean: str | None) -> None:
    assert clean_credit(raw) == clean


# A 2004 biz.163.com table page whose 来源 line runs on into the comment counter.
TABLE2004 = """<html><head><meta charset="utf-8"><title>标题_商业频道</title></head><body>
<table><tr><td><h1>气垫鞋的神话</h1></td></tr>
<tr><td class="graysl">2004-12-10 11:55:08 来源: 第一财经日报 网友评论 0 条</td></tr></table>
<table><tr><td><span class="grayb"><p>第一段：气垫鞋并不能让人跳得更高，研究者这样说。</p>
</span></td></tr></table></body></html>"""


def test_publisher_without_the_comment_counter() -> None:
    article = extract_article(TABLE2004.encode(), "http://biz.163.com/41210/1/17867KR700020QBK.html")
    assert article is not None and article["template"] == "table2004"
    assert article["publisher"] == "第一财经日报"


# A 网易号 2019 page that gives the day and no time.
DY2019_DAY = """<html><head><meta charset="utf-8"><title>号文标题_网易订阅</title></head><body>
<div class="article_title"><h2>号文标题</h2><p class="time">2019-06-12 · 数码前线观察</p></div>
<div class="article_box"><div id="content"><p>网易号正文。</p></div></div></body></html>"""


def test_wangyihao_2019_date_without_time_is_kept_as_a_date() -> None:
    url = "https://dy.163.com/v2/article/detail/E9H7GJ4B0511B8LM.html"
    article = extract_article(DY2019_DAY.encode(), url)
    assert article is not None and article["template"] == "dy2019"
    assert article["published_at"] == "2019-06-12"
    assert article["published_date_only"] is True
    assert article["author"] == "数码前线观察"


def test_a_time_is_not_date_only() -> None:
    html = DY2019_DAY.replace("2019-06-12 ·", "2019-06-12 10:21:33 ·")
    article = extract_article(html.encode(), "https://dy.163.com/v2/article/detail/E9H7GJ4B0511B8LM.html")
    assert article is not None
    assert article["published_at"] == "2019-06-12T10:21:33+08:00"
    assert article["published_date_only"] is False


def test_generic_page_with_a_date_only() -> None:
    prose = "记者从市里获悉，当天下午有关部门召开会议，研究部署下一阶段的防汛抗旱工作。" * 3
    html = (f'<html><head><meta property="article:published_time" content="2024-04-24">'
            f"<title>标题</title></head><body><article><p>{prose}</p></article></body></html>")
    article = extract_article(html.encode(), "https://example.cn/a/1.html")
    assert article is not None and article["profile"] == "generic"
    assert (article["published_at"], article["published_date_only"]) == ("2024-04-24", True)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("2019-06-12", "2019-06-12"),
        ("2019年6月12日", "2019-06-12"),
        ("2019/6/1", "2019-06-01"),
        ("2019-06-12 10:11", "2019-06-12T10:11:00+08:00"),
        ("2019-13-40", None),
    ],
)
def test_parse_datetime_keeps_days_as_days(raw: str, parsed: str | None) -> None:
    assert parse_datetime(raw, BEIJING) == parsed
    assert is_date_only(parsed) == (parsed is not None and "T" not in parsed)


def test_the_archive_keeps_the_flag(tmp_path: Path) -> None:
    writer = ArchiveWriter(open_archive(tmp_path / "a.db"))
    url = "https://www.163.com/dy/article/E9H7GJ4B0511B8LM.html"
    article = make_article(url, published_at="2019-06-12", published_date_only=True)
    assert writer.store(None, "s", make_page(url), article) == "new"
    other = "https://www.163.com/dy/article/E9H7GJ4B0511B8LN.html"
    writer.store(None, "s", make_page(other), make_article(other, text="另一篇。"))
    rows = {r["url"]: r for r in writer.db["articles"].rows}
    assert (rows[url]["published_at"], rows[url]["published_date_only"]) == ("2019-06-12", 1)
    assert rows[other]["published_date_only"] == 0


@pytest.mark.parametrize(
    ("title", "page", "expected"),
    [
        ("留学生看两会_教育频道_中国青年网", "", "留学生看两会"),
        ("习近平主席致贺信--时政--人民网", "", "习近平主席致贺信"),
        ("标题_网易新闻", "", "标题"),
        ("Flood defences approved | The Courier", "<h1>Flood defences approved</h1>",
         "Flood defences approved"),
        ("Spider-Man - a review", "", "Spider-Man - a review"),  # no heading says so
        ("A_B testing explained", "", "A_B testing explained"),
        ("网易新闻", "", "网易新闻"),  # nothing but a site name: kept
    ],
)
def test_generic_title_without_the_site_name(title: str, page: str, expected: str) -> None:
    tree = document_fromstring(f"<html><body>{page}<p>x</p></body></html>")
    assert headline(title, tree) == expected
