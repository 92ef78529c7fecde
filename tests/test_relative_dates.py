"""Relative publish times on NetEase pages ("3小时前", "昨天 08:15", "刚刚") are resolved
against the fetch time, in Beijing time (+08:00), on every template that shows a time line.
"""

from __future__ import annotations

import pytest

from pipelines.extract import extract_article

URL = "https://www.163.com/news/article/KEJ7M1QV0001899O.html"
DY_URL = "https://dy.163.com/v2/article/detail/EHGB2V1M0511DQ7K.html"
BODY = "<p>" + "这是一段足够长的正文，用来检查页面上相对时间的解析。" * 3 + "</p>"
POST2020 = f"""<html><head><title>标题_网易新闻</title></head><body>
<div class="post_main"><h1 class="post_title">标题</h1>
<div class="post_info">{{when}} 来源: <a href="#">某某日报</a></div>
<div class="post_body">{BODY}</div></div></body></html>"""
MOBILE = f"""<html><head><title>标题_网易新闻</title></head><body><article class="js-article">
<h1 class="article-title">标题</h1><section class="article-info">{{when}}
<span class="article-info-column">某某日报</span></section>
<section class="article-body">{BODY}</section></article></body></html>"""
DY2019 = f"""<html><head><title>标题_网易订阅</title></head><body><div class="article_box">
<div class="article_title"><h2>标题</h2><p class="time">{{when}} · 某某账号</p></div>
<div id="content">{BODY}</div></div></body></html>"""

# 09:00 on 14 November in Beijing.
MORNING = "2025-11-14T01:00:00+00:00"
# 04:00 on 14 November in Beijing, still the 13th in UTC: "昨天" is the 13th, not the 12th.
SMALL_HOURS = "2025-11-13T20:00:00+00:00"


def published(html: str, fetched_at: str, url: str = URL) -> str | None:
    article = extract_article(html.encode("utf-8"), url, content_type="text/html",
                              fetched_at=fetched_at)
    assert article is not None and article["profile"] == "netease" and article["template"]
    return article["published_at"]


@pytest.mark.parametrize(("when", "fetched_at", "expected"), [
    ("3小时前", MORNING, "2025-11-14T06:00:00+08:00"),
    ("3小时前", SMALL_HOURS, "2025-11-14T01:00:00+08:00"),
    ("25分钟前", MORNING, "2025-11-14T08:35:00+08:00"),
    ("2天前", MORNING, "2025-11-12T09:00:00+08:00"),
    ("刚刚", MORNING, "2025-11-14T09:00:00+08:00"),
    ("昨天 08:15", MORNING, "2025-11-13T08:15:00+08:00"),
    ("昨天 08:15", SMALL_HOURS, "2025-11-13T08:15:00+08:00"),
    ("昨天08:15", MORNING, "2025-11-13T08:15:00+08:00"),
    ("今天 07:30", MORNING, "2025-11-14T07:30:00+08:00"),
    ("前天 22:05", SMALL_HOURS, "2025-11-12T22:05:00+08:00"),
])
def test_post2020_relative_time(when: str, fetched_at: str, expected: str) -> None:
    assert published(POST2020.format(when=when), fetched_at) == expected


def test_mobile_and_dy2019_relative_times() -> None:
    assert published(MOBILE.format(when="3小时前"), MORNING) == "2025-11-14T06:00:00+08:00"
    assert published(DY2019.format(when="昨天 08:15"), MORNING, DY_URL) == (
        "2025-11-13T08:15:00+08:00")


def test_an_absolute_time_on_the_page_wins() -> None:
    """A page whose time line is relative but whose head names the instant."""
    html = POST2020.format(when="3小时前").replace(
        "</head>", '<meta property="article:published_time" '
                   'content="2025-11-14T05:42:10+08:00"></head>')
    assert published(html, MORNING) == "2025-11-14T05:42:10+08:00"


def test_absolute_times_are_unchanged() -> None:
    assert published(POST2020.format(when="2025-11-13 08:15:00"), MORNING) == (
        "2025-11-13T08:15:00+08:00")
