"""The Paper / 澎湃新闻 (www.thepaper.cn/newsDetail_forward_ID, m.thepaper.cn).

The article page is a Next.js page (``/detail/[id]``) whose CSS-module class names carry
a build hash: ``cententWrap__UojXm`` (2024-, the site's own spelling of "content"),
``index_cententWrap__Jv8jK`` in older builds. The template matches on the name before
the hash, with or without the ``index_`` prefix. The header holds the time and the 来源
(``.ant-space-item`` spans: "2024-04-15 09:27", "来源：澎湃新闻·澎湃号·政务"), the body
sits in ``div.cententWrap__*`` and the 特别声明 block follows it. Body images are lazy
(``data-src``). The server-rendered page also carries ``__NEXT_DATA__`` with the
article's ``contentDetail`` (name, author, source, pubTime): read when the visible
header lacks a field, as Tencent's ``window.DATA`` is.

澎湃号 (湃客, 政务, 媒体) is a platform where outlets, offices and people publish: the 来源
says "澎湃新闻·澎湃号·…", the account is the author and 澎湃号 the publisher, as on
网易号 and 搜狐号. Elsewhere the 来源 is the publisher (澎湃新闻, or the outlet reposted).
Many 澎湃号 posts are imported from WeChat and keep its leftovers inside the body: the
account's name as a javascript: link on top, "继续滑动看下一个 轻触阅读原文" and a
"阅读原文" link at the end. Those that are elements of their own are dropped; one that is
bare text between images ("向上滑动看下一个") cannot be, by a drop.
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
    class_prefix,
    has_class,
)
from pipelines.sites.mirror import site_url


def module_class(name: str) -> str:
    """XPath predicate: a class token is the CSS module class `name`, hashed
    (``name__HASH``), also with the ``index_`` prefix of older builds. ``cententWrap``
    does not match ``cententWrapBox__…``: the two underscores are part of the test."""
    return f"({class_prefix(f'{name}__')} or {class_prefix(f'index_{name}__')})"


BODY = f"//div[{module_class('cententWrap')}]"
HEADER = f"//div[{module_class('headerContent')}]"
HEADER_ITEM = f"{HEADER}//*[{has_class('ant-space-item')}]"
NEXT_DATA = '//script[@id="__NEXT_DATA__"]'


def next_data(key: str) -> Pick:
    """A string field of ``contentDetail`` in ``__NEXT_DATA__`` (its first occurrence
    after the key ``contentDetail``; an empty value is skipped)."""
    return Pick(NEXT_DATA, rf'"contentDetail"\s*:\s*\{{.*?"{key}"\s*:\s*"([^"]*)"')


DATE = r"(\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}(?::\d{2})?)"
DAY = r"(\d{4}-\d{2}-\d{2})(?!\s*\d{1,2}:)"  # a day without a time: kept as a date

DETAIL = Template(
    name="detail",
    detect=BODY,
    body=BODY,
    drop=(
        # the 澎湃号 account's name on top, a javascript: link left by the WeChat import
        './p[1][a[starts-with(normalize-space(@href), "javascript")]'
        " and normalize-space(.) = normalize-space(a)]",
        # WeChat's end-of-post bar, the account's picture in it (its text, "<account>向上
        # 滑动看下一个", is bare text: it stays) and the 阅读原文 link back to the WeChat post
        './/p[starts-with(normalize-space(.), "继续滑动看下一个")]',
        './/img[following-sibling::node()[1][self::text()][contains(., "向上滑动看下一个")]]',
        './/p[normalize-space(.) = "阅读原文" and a]',
        # 特别声明 (after the body on the pages seen; dropped should a layout nest it)
        f".//*[{has_class('ant-divider')}]",
        './/*[starts-with(normalize-space(.), "本文为澎湃号作者或机构在澎湃新闻上传并发布")]',
    ),
    title=(
        Pick(f"//h1[{module_class('title')}]"),
        next_data("name"),
        Pick('//meta[@property="og:title"]/@content'),
        Pick("//title"),
    ),
    # The byline the header shows above the time on staff stories (a div of its own,
    # before the one holding the .ant-space items); 澎湃号 pages show none there.
    author=(
        Pick(f"{HEADER}/div[{module_class('left')}]/div[1]"
             f"[not(.//*[{has_class('ant-space-item')}])]"),
        next_data("author"),
    ),
    published=(
        Pick(HEADER_ITEM, DATE),
        next_data("pubTime"),
        Pick(HEADER_ITEM, DAY),
    ),
    source=(
        Pick(HEADER_ITEM, r"来源[:：]\s*(.+)"),
        next_data("source"),
    ),
)

ARTICLE_ID = re.compile(r"/newsDetail_forward_(\d+)$")


def canonical_url(url: str) -> str:
    """https://www.thepaper.cn/newsDetail_forward_ID for the desktop and mobile copies,
    without the query (from, commTag) share links add."""
    return canonical_by_id(site_url(url), ARTICLE_ID,
                           "https://www.thepaper.cn/newsDetail_forward_{}")


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    source = meta.source
    if source and "澎湃号" in source:  # 澎湃新闻·澎湃号·政务: the account is the author
        return replace(meta, publisher="澎湃号")
    return replace(meta, publisher=meta.publisher or source)


PROFILE = SiteProfile(
    name="thepaper",
    hosts=("thepaper.cn",),
    templates=(DETAIL,),
    # "标题_澎湃新闻-The Paper", "标题_澎湃号·政务_澎湃新闻-The Paper"
    title_suffix=r"(?:_[^_]{1,12})?_澎湃新闻-The Paper",
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
