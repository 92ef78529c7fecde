"""Sina (news.sina.com.cn, finance.sina.com.cn and the other *.sina.com.cn channels).

Two article layouts share one CMS: the current one (2017-) with the body in
``div.article#article`` and a ``div.date-source`` line, and the older ``#artibody`` one
(finance until the 2020s) with a ``span.time-source`` line. Both carry the 来源 outlet in
``<meta name="mediaid">`` and an ISO ``article:published_time``; the time the page shows
("2024年05月10日 00:26") is preferred, being what the reader sees (the meta time is the
last CMS save on some pages).
"""

from __future__ import annotations

from dataclasses import replace

from pipelines.sites.base import (
    BEIJING,
    Metadata,
    Pick,
    SiteProfile,
    Template,
    has_class,
    without_query,
)
from pipelines.sites.mirror import site_url

META_TITLE = Pick('//meta[@property="og:title"]/@content')
PAGE_TITLE = Pick("//title")
PUBLISHED_META = Pick('//meta[@property="article:published_time"]/@content')
MEDIAID = Pick('//meta[@name="mediaid"]/@content')
# Widgets inside the body: the 责任编辑 line, stock-quote boxes, the 股吧 promotion,
# keyword and app-download blocks.
DROPS = (
    f".//*[{has_class('show_author')}]",
    f".//*[{has_class('article-editor')}]",
    f".//*[{has_class('hqimg_related')} or {has_class('to_page')}]",
    './/*[@data-sudaclick="suda_1028_guba"]',
    f".//*[{has_class('keywords')} or {has_class('article-keywords')}]",
    f".//*[{has_class('appendQr_wrap')} or {has_class('app-kaihu-qr')}]",
    ".//*[@id='left_hzh_ad' or @id='ad_content']",
)

ARTICLE2017 = Template(
    name="article2017",
    detect=f'//div[{has_class("article")} and @id="article"]',
    body=f'//div[{has_class("article")} and @id="article"]',
    drop=DROPS,
    title=(Pick(f"//h1[{has_class('main-title')}]"), META_TITLE, PAGE_TITLE),
    published=(
        Pick(f"//div[{has_class('date-source')}]//span[{has_class('date')}]"),
        PUBLISHED_META,
    ),
    source=(
        Pick(f"//div[{has_class('date-source')}]//*[{has_class('source')}]"),
        MEDIAID,
    ),
    caption=f"ancestor::div[{has_class('img_wrapper')}][1]//span[{has_class('img_descr')}]",
)

ARTIBODY = Template(
    name="artibody",
    detect='//*[@id="artibody"]',
    body='//*[@id="artibody"]',
    drop=DROPS,
    title=(Pick('//h1[@id="artibodyTitle"]'), META_TITLE, Pick("//h1"), PAGE_TITLE),
    published=(
        Pick(f"//*[{has_class('time-source')}]", r"(\d{4}年\d{1,2}月\d{1,2}日\s*\d{1,2}:\d{2})"),
        Pick('//*[@id="pub_date"]'),
        PUBLISHED_META,
    ),
    source=(
        Pick('//*[@data-sudaclick="media_name"]'),
        Pick('//*[@id="media_name"]'),
        MEDIAID,
    ),
    caption=f"ancestor::div[{has_class('img_wrapper')}][1]//span[{has_class('img_descr')}]",
)


def canonical_url(url: str) -> str:
    """Sina article paths are unique; the query only carries referral tags (cre, mod,
    loc, r, doct, rfunc), so it goes, and http becomes https."""
    url = site_url(url)
    normal = without_query(url)
    return "https://" + normal.split("://", 1)[1] if normal.startswith("http://") else normal


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    """The 来源 on Sina is the outlet that wrote the story (Sina reposts), so it is the
    publisher; Sina has no bylines of its own in the page header."""
    return replace(meta, publisher=meta.publisher or meta.source)


PROFILE = SiteProfile(
    name="sina",
    hosts=("sina.com.cn",),
    templates=(ARTICLE2017, ARTIBODY),
    # "标题|关键词|关键词_新浪新闻", "_新浪财经_新浪网"
    title_suffix=r"(?:\|[^|_]*)*_新浪\w{0,4}(?:_新浪网)?",
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
