"""Tencent News (new.qq.com / news.qq.com / view.inews.qq.com).

Two layouts:
- ``rain`` (2020-): ``new.qq.com/rain/a/ID`` and ``news.qq.com/rain/a/ID``, a React page
  with the body in ``div#ArticleContent`` and the account (``p.media-name``) and time
  (``p.media-meta``) above it. The server-rendered HTML also carries ``window.DATA``
  with ``pubtime`` and ``media``: read when the visible header is missing.
- ``qq2016``: ``news.qq.com/a/YYYYMMDD/NNNNNN.htm`` pages, body in
  ``#Cnt-Main-Article-QQ``, credit in ``span.where`` and time in ``span.pubTime``
  (older ones ``span.a_time`` / ``span.a_source``).

The credit is a 企鹅号 account (an outlet's official account or a self-media one), so it is
read as the author, with 腾讯新闻 as the publisher, as NetEase's 网易号 pages are.
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
    canonical_by_id,
    has_class,
)
from pipelines.sites.mirror import site_url

META_TITLE = Pick('//meta[@property="og:title"]/@content')
PAGE_TITLE = Pick("//title")
DATA = '//script[contains(., "window.DATA")]'

RAIN = Template(
    name="rain",
    detect='//div[@id="ArticleContent"]',
    body='//div[@id="ArticleContent"]',
    drop=(
        f".//*[{has_class('show-orig-wrapper')}]",  # "查看原图 264K"
        f".//*[{has_class('qqcom-follow-button')}]",
    ),
    title=(
        Pick(f"//div[{has_class('content-article')}]/h1"),
        Pick(DATA, r'"title"\s*:\s*"([^"]+)"'),
        META_TITLE,
        PAGE_TITLE,
    ),
    published=(
        Pick(f"//p[{has_class('media-meta')}]/span[1]"),
        Pick(DATA, r'"pubtime"\s*:\s*"([^"]+)"'),
    ),
    source=(
        Pick(f"//*[{has_class('media-name')}]"),
        Pick(DATA, r'"media"\s*:\s*"([^"]+)"'),
    ),
)

QQ2016 = Template(
    name="qq2016",
    detect='//div[@id="Cnt-Main-Article-QQ"]',
    body='//div[@id="Cnt-Main-Article-QQ"]',
    drop=(
        f".//*[{has_class('rv-root-v2')} or {has_class('rv-player')}]",  # video player
        f".//*[{has_class('hasVideo')}]",
    ),
    title=(Pick(f"//div[{has_class('hd')}]/h1"), META_TITLE, PAGE_TITLE),
    published=(
        Pick(f"//*[{has_class('pubTime')}]"),
        Pick(f"//*[{has_class('a_time')}]"),
        Pick(f"//*[{has_class('article-time')}]"),
    ),
    source=(
        Pick(f"//*[{has_class('where')}]"),
        Pick(f"//*[{has_class('a_source')}]"),
        Pick(f"//*[{has_class('color-a-1')}]"),
    ),
)

RAIN_ID = re.compile(r"/(?:rain/a|omn(?:/\d{8})?|a)/([0-9]{8}[A-Z][0-9A-Z]{4,})(?:\.html?)?$")


def canonical_url(url: str) -> str:
    """new.qq.com, news.qq.com and view.inews.qq.com serve one article under one ID:
    https://news.qq.com/rain/a/ID. Older /a/YYYYMMDD/NNNNNN.htm pages keep their path."""
    return canonical_by_id(site_url(url), RAIN_ID, "https://news.qq.com/rain/a/{}")


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    source = meta.source
    if template.name == "rain":  # a 企鹅号 account: the author, on Tencent's platform
        return replace(meta, author=meta.author or source, publisher="腾讯新闻")
    return replace(meta, publisher=meta.publisher or source)


PROFILE = SiteProfile(
    name="tencent",
    hosts=("new.qq.com", "news.qq.com", "view.inews.qq.com"),
    templates=(RAIN, QQ2016),
    # "_腾讯新闻", "_科技_腾讯网", "_新闻_腾讯网"
    title_suffix=r"_(?:\w{1,4}_)?腾讯(?:新闻|网)",
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
