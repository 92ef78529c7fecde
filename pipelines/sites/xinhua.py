"""Xinhua (www.news.cn and the regional *.news.cn; xinhuanet.com before 2023).

Article pages are ``/[channel/]YYYYMMDD/ID/c.html`` (older: ``/YYYY-MM/DD/c_ID.htm``). The
body is ``span#detailContent`` inside ``div#detail``; the video player, the photo-gallery
pager and the 【纠错】/责任编辑 block sit around or inside it. Time and 来源 are in
``div.info`` (the desktop header) or ``div.header-time`` / ``div.source``; the outlet is
also in ``<meta name="source">``. Multi-page galleries (``c.html?page=2``) are
archived page by page: the first page is the article.
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
    normalise_url,
)
from pipelines.sites.mirror import site_url

DATE = r"(\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}(?::\d{2})?)"
DROPS = (
    './/*[starts-with(@id, "DH-PLAYERID")]',  # the video player and its controls
    f".//*[{has_class('player-container')}]",
    f".//center[{has_class('xinhuaPager')}] | .//*[@id='div_currpage']",
    './/*[@id="articleEdit"]',  # 【纠错】 【责任编辑:…】
    f".//*[{has_class('editor')}]",
)
TITLE = (
    Pick(f"//div[{has_class('head-line')}]//*[{has_class('title')}]"),
    Pick(f"//div[{has_class('head-line')}]/h1"),
    Pick("//h1[normalize-space()]"),
    Pick("//title"),
)
PUBLISHED = (
    Pick(f"//div[{has_class('info')}]", DATE),
    Pick(f"//div[{has_class('header-time')}]", r"(\d{4}\s*\d{2}/\d{2}\s*\d{2}:\d{2}:\d{2})"),
    Pick(f"//*[{has_class('source')}]", DATE),
    Pick('//meta[@name="publishdate"]/@content'),
)
SOURCE = (
    Pick('//meta[@name="source"]/@content'),
    Pick(f"//div[{has_class('info')}]", r"来源[:：]\s*(\S+)"),
)

DETAIL = Template(
    name="detail",
    detect='//div[@id="detail"]',
    body='(//span[@id="detailContent"] | //div[@id="detail"])[1]',
    drop=DROPS,
    title=TITLE,
    published=PUBLISHED,
    source=SOURCE,
)

# 2016-2022 xinhuanet.com pages: body in div#p-detail, time in span.h-time.
P_DETAIL = Template(
    name="p-detail",
    detect='//div[@id="p-detail"]',
    body='//div[@id="p-detail"]',
    drop=DROPS,
    title=(Pick(f"//div[{has_class('h-title')}]"), *TITLE),
    published=(Pick(f"//span[{has_class('h-time')}]"), *PUBLISHED),
    source=(Pick('//em[@id="source"]'), *SOURCE),
)


def canonical_url(url: str) -> str:
    """news.cn replaced xinhuanet.com (same paths); https, no query (so page 2 of a gallery
    shares its article's address only when asked for without ?page)."""
    url = site_url(url)
    normal = normalise_url(url)
    _, _, rest = normal.partition("://")
    host, slash, path = rest.partition("/")
    if host == "xinhuanet.com" or host.endswith(".xinhuanet.com"):
        host = host[: -len("xinhuanet.com")] + "news.cn"
    return f"https://{host}{slash}{path.split('?', 1)[0]}"


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    published = meta.published
    if published and "/" in published and "-" not in published:  # "2024 05/09 22:27:02"
        year, day, time = published.split()
        published = f"{year}-{day.replace('/', '-')} {time}"
    return replace(meta, published=published, publisher=meta.publisher or meta.source)


PROFILE = SiteProfile(
    name="xinhua",
    hosts=("news.cn", "xinhuanet.com"),
    templates=(DETAIL, P_DETAIL),
    # "-新华网", "-新华网河北频道-新华网"
    title_suffix=r"(?:-新华网\w{0,6})+",
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
