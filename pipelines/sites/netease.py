"""NetEase (163.com): the article templates from 2004 to 2025, as data.

See the project's reference notes on NetEase's structures. Templates are tried in
order; the first whose `detect` matches wins. The post2020 and PC 2019 templates both
have a ``div.post_body``, so PC 2019 (recognised by ``#endText``) goes first.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pipelines.sites.base import (
    BEIJING,
    Metadata,
    Pick,
    SiteProfile,
    Template,
    has_class,
    normalise_url,
    url_path,
)

DATE = r"(\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}(?::\d{2})?)"
# Lists and fresh pages show relative times ("3小时前", "昨天 08:15", "刚刚");
# parse_datetime anchors them on the fetch time, in Beijing time. Tried after every
# absolute time on the page, being at best minute-precise.
RELATIVE = r"(刚刚|\d+\s*(?:秒|分钟|小时|天)前|(?:今天|昨天|前天)\s*\d{1,2}:\d{2})"
# A day without a time ("2019-06-12 · account"): the last resort, kept as a date.
DAY = r"(\d{4}-\d{2}-\d{2})(?!\s*\d{1,2}:)"
SOURCE = r"来源[:：]\s*(.+?)(?:\s+举报|\s*$)"
PUBLISH_ATTR = Pick("/html/@data-publishtime")
META_TITLE = Pick('//meta[@property="og:title"]/@content')
PAGE_TITLE = Pick("//title")
PUBLISHED_META = Pick('//meta[@property="article:published_time"]/@content')
# Widgets NetEase puts inside the body container on every template.
ADS = f".//*[{has_class('post_body_ad')} or {has_class('gg200x300')}]"

POST2020 = Template(
    name="post2020",
    detect=f"//div[{has_class('post_main')}]//div[{has_class('post_body')}]",
    body=f"//div[{has_class('post_main')}]//div[{has_class('post_body')}]",
    drop=(
        ADS,
        f".//*[{has_class('post_body_recommend')}]",  # hidden 相关推荐 copy inside the body
        f".//*[{has_class('post_statement')} or {has_class('post_author')}]",
    ),
    title=(Pick(f"//h1[{has_class('post_title')}]"), META_TITLE, PAGE_TITLE),
    published=(
        PUBLISH_ATTR,
        Pick(f"//div[{has_class('post_info')}]", DATE),
        PUBLISHED_META,
        Pick(f"//div[{has_class('post_info')}]", RELATIVE),
        Pick(f"//div[{has_class('post_info')}]", DAY),
    ),
    source=(
        Pick(f"//div[{has_class('post_info')}]/a[not({has_class('post_jubao')})]"),
        Pick(f"//div[{has_class('post_info')}]", SOURCE),
    ),
    caption=f"ancestor::p[{has_class('f_center')}][1]",
)

PC2019 = Template(
    name="pc2019",
    detect='//*[@id="endText"]',
    body='//*[@id="endText"]',
    drop=(
        ADS,
        f".//*[{has_class('related_article')}]",  # 延伸阅读
        f".//*[{has_class('special_tag_wrap')}]",  # 延伸·推荐
        f".//*[{has_class('ep-source')}]",  # 本文来源 / 责任编辑 line
    ),
    title=(Pick('//*[@id="epContentLeft"]/h1'), Pick("//h1"), META_TITLE, PAGE_TITLE),
    published=(
        PUBLISH_ATTR,
        Pick(f"//div[{has_class('post_time_source')}]", DATE),
        PUBLISHED_META,
        Pick(f"//div[{has_class('post_time_source')}]", RELATIVE),
    ),
    source=(
        Pick('//a[@id="ne_article_source"]'),
        Pick(f"//div[{has_class('post_time_source')}]", SOURCE),
        Pick(f"//*[{has_class('ep-source')}]", r"本文来源[:：]\s*(\S+)"),
    ),
    caption=f"ancestor::p[{has_class('f_center')}][1]",
)

# 网易号 2019 (dy.163.com/v2/article/detail/...): p.time is "date · account".
DY2019 = Template(
    name="dy2019",
    detect=f'//div[{has_class("article_box")}]//div[@id="content"]',
    body=f'//div[{has_class("article_box")}]//div[@id="content"]',
    drop=(ADS, f".//*[{has_class('statement')}]"),
    title=(Pick(f"//div[{has_class('article_title')}]//h2"), META_TITLE, PAGE_TITLE),
    published=(
        PUBLISH_ATTR,
        Pick(f"//div[{has_class('article_title')}]//p[{has_class('time')}]", DATE),
        PUBLISHED_META,
        Pick(f"//div[{has_class('article_title')}]//p[{has_class('time')}]", RELATIVE),
        Pick(f"//div[{has_class('article_title')}]//p[{has_class('time')}]", DAY),
    ),
    source=(
        Pick(f"//div[{has_class('article_title')}]//p[{has_class('time')}]//a"),
        Pick(f"//div[{has_class('article_title')}]//p[{has_class('time')}]", r"[·•]\s*(.+)$"),
    ),
    caption=f"ancestor::p[{has_class('f_center')}][1]",
)

MOBILE2025 = Template(
    name="mobile2025",
    detect=f"//article[{has_class('js-article')}]//section[{has_class('article-body')}]",
    body=f"//article[{has_class('js-article')}]//section[{has_class('article-body')}]",
    drop=(
        ADS,
        f".//*[{has_class('s-tip')}]",  # "打开网易新闻 查看精彩图片" app prompts
        f".//*[{has_class('js-open-newsapp')}]",
    ),
    title=(Pick(f"//h1[{has_class('article-title')}]"), META_TITLE, PAGE_TITLE),
    published=(
        PUBLISH_ATTR,
        PUBLISHED_META,
        Pick(f"//section[{has_class('article-info')}]", DATE),
        Pick(f"//section[{has_class('article-info')}]", RELATIVE),
        Pick(f"//section[{has_class('article-info')}]", DAY),
    ),
    source=(
        Pick(f"//section[{has_class('article-info')}]//*[{has_class('article-info-column')}]"),
    ),
)

# 2004-era table pages: body in div#text or span.grayb, "date 来源: X" in td.graysl.
TABLE2004 = Template(
    name="table2004",
    detect=f'//div[@id="text"] | //span[{has_class("grayb")}][.//p]',
    body=f'(//div[@id="text"] | //span[{has_class("grayb")}][.//p])[1]',
    drop=(ADS, ".//table[.//iframe]"),  # in-body ad tables
    title=(Pick("//h1"), PAGE_TITLE),
    published=(
        Pick(f"//td[{has_class('graysl')}]", DATE),
        Pick('//*[contains(text(), "来源")]', DATE),
        Pick(f"//td[{has_class('graysl')}]", DAY),
    ),
    source=(
        Pick(f"//td[{has_class('graysl')}]", SOURCE),
        Pick('//*[contains(text(), "来源")]', SOURCE),
    ),
)

DOCID = re.compile(r"/([0-9A-Z]{16})\.html$")
URL_DATE = re.compile(r"/(\d{2})/(\d{2})(\d{2})/(\d{2})/[0-9A-Z]{16}\.html$")
WANGYIHAO_PATHS = ("/dy/article/", "/v2/article/detail/")


def is_wangyihao(url: str) -> bool:
    """网易号 (self-media) article: the 来源 is an account, not an outlet."""
    path = url_path(url)
    return any(p in path for p in WANGYIHAO_PATHS)


def canonical_url(url: str) -> str:
    """One URL per article: www.163.com/dy|news/article/DOCID.html when there is a DOCID.

    Works on the path only, so a local mirror URL such as
    http://127.0.0.1:8123/www.163.com/dy/article/DOCID.html maps the same way.
    """
    path = url_path(url)
    match = DOCID.search(path)
    if not match:
        return normalise_url(url)
    kind = "dy" if is_wangyihao(url) else "news"
    return f"https://www.163.com/{kind}/article/{match.group(1)}.html"


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    """NetEase's credit rule: on 网易号 pages the 来源 is the account (the author) and
    the publisher is 网易号 itself; elsewhere the 来源 is the outlet (the publisher)."""
    source = meta.source
    if source and source.startswith("网易号"):  # "网易号：account" on some templates
        source = source.split("：", 1)[-1].split(":", 1)[-1].strip() or None
    if is_wangyihao(url):
        meta = replace(meta, author=meta.author or source, publisher="网易号")
    else:
        meta = replace(meta, publisher=meta.publisher or source)
    if not meta.published:  # PC 2019 URLs carry YY/MMDD/HH: better than nothing
        date = URL_DATE.search(url_path(url))
        if date:
            yy, mm, dd, hh = date.groups()
            century = "19" if int(yy) > 90 else "20"  # the form dates from the late 1990s
            meta = replace(meta, published=f"{century}{yy}-{mm}-{dd} {hh}:00:00")
    return meta


PROFILE = SiteProfile(
    name="netease",
    hosts=("163.com",),
    templates=(PC2019, DY2019, POST2020, MOBILE2025, TABLE2004),
    # "_网易新闻", "_网易订阅", "_网易号", "_网易财经", ...; 2004 pages: "_商业频道"
    title_suffix=r"_(?:网易\w{1,4}|\w{1,4}频道)(?:_网易\w{0,4})?",
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
