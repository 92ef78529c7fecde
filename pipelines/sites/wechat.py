"""WeChat public-account articles (mp.weixin.qq.com/s?__biz=…&mid=…&idx=…&sn=… or /s/ID).

One layout since 2014, in two generations of header: the body is ``div#js_content``
(served with ``visibility: hidden`` until a script runs, so it is not treated as hidden),
the title ``#activity-name``, the account ``#js_name`` (2020-) or ``#post-user`` (before);
a byline, when the post has one, is ``<meta name="author">`` or the ``em`` after the date.
The date shown (``#publish_time``) is filled in by script; the page carries the publish
time as a Unix timestamp in ``var ct = "…"``, read here.

Credit: WeChat articles are re-posted everywhere and an account is a publication with a
name of its own (人民日报, 掌上绥德), so the account is the publisher; the byline, when
there is one, is the author.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from pipelines.sites.base import (
    BEIJING,
    Metadata,
    Pick,
    SiteProfile,
    Template,
    normalise_url,
    url_path,
)
from pipelines.sites.mirror import site_url

SCRIPT = "//script[not(@src)]"
# Author-typed promotion lines that end many posts ("推荐阅读：<link>").
PROMO = ("推荐阅读", "往期推荐", "往期回顾", "点击蓝字", "长按二维码", "长按识别")

RICH_MEDIA = Template(
    name="rich-media",
    detect='//div[@id="js_content"]',
    body='//div[@id="js_content"]',
    drop=(
        " | ".join(f'.//p[starts-with(normalize-space(), "{p}")]' for p in PROMO),
        './/p[contains(., "二维码") and contains(., "关注")]',  # "识别图中二维码关注"
        './/*[@id="js_pc_qr_code"] | .//*[@id="js_tags"]',
        './/mpvoice | .//qqmusic | .//mpvideosnap',  # audio/music cards: no text
    ),
    title=(
        Pick('//*[@id="activity-name"]'),
        Pick('//meta[@property="og:title"]/@content'),
        Pick(SCRIPT, r"""var msg_title\s*=\s*['"]([^'"]+)['"]"""),
    ),
    author=(
        Pick('//meta[@name="author"]/@content'),
        Pick('//*[@id="js_author_name"]'),
        Pick('//div[@id="meta_content"]/em[not(@id)]'),
    ),
    publisher=(
        Pick('//*[@id="js_name"]'),
        Pick('//*[@id="post-user"]'),
        Pick(SCRIPT, r'var nickname\s*=\s*"([^"]+)"'),
    ),
    published=(
        Pick(SCRIPT, r'var ct\s*=\s*"(\d{9,11})"'),
        Pick('//*[@id="publish_time"]'),
        Pick(SCRIPT, r'var publish_time\s*=\s*"([^"]+)"'),
    ),
)

ARTICLE_KEYS = ("__biz", "mid", "idx", "sn")


def canonical_url(url: str) -> str:
    """mp.weixin.qq.com/s?__biz&mid&idx&sn (the four keys naming a post; chksm, scene and
    share tags go), or /s/SHORTID as is. The same post is reached by both forms, but
    nothing on the short form's URL says which long one it is."""
    url = site_url(url)
    normal = normalise_url(url)
    if url_path(url).rstrip("/") == "/s" and "?" in url:
        query = dict(parse_qsl(url.split("?", 1)[1].split("#", 1)[0]))
        kept = [(k, query[k]) for k in ARTICLE_KEYS if k in query]
        if kept:
            return "https://mp.weixin.qq.com/s?" + urlencode(kept, safe="=")
    return "https://" + normal.split("://", 1)[1].split("?", 1)[0]


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    published = meta.published
    if published and re.fullmatch(r"\d{9,11}", published):
        published = datetime.fromtimestamp(int(published), BEIJING).isoformat()
    return replace(meta, published=published)


PROFILE = SiteProfile(
    name="wechat",
    hosts=("mp.weixin.qq.com",),
    templates=(RICH_MEDIA,),
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
