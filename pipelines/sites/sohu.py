"""Sohu (www.sohu.com/a/ID_ACCOUNT, m.sohu.com/a/...): 搜狐号 articles.

Every /a/ page is a 搜狐号 account's post: the body is ``article#mp-editor``, the account
name is in ``#user-info h4`` (and ``<meta name="mediaid">``), the time in
``span#news-time``. As on NetEase's 网易号, the account is the author and the platform,
搜狐号, the publisher. Inside the body Sohu appends a 返回搜狐 link, a 责任编辑 line and,
hidden, the 原标题.
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

MP_EDITOR = Template(
    name="mp-editor",
    detect='//article[@id="mp-editor"]',
    body='//article[@id="mp-editor"]',
    drop=(
        './/*[@id="backsohucom"]',  # "返回搜狐，查看更多"
        './/*[@data-role="editor-name"]',  # 责任编辑：
        './/*[@data-role="original-title"]',  # 原标题 (hidden by a class on some pages)
        f".//*[{has_class('lookall-box')} or {has_class('hidden-content')}]",
    ),
    title=(
        Pick(f"//div[{has_class('text-title')}]/h1/text()[normalize-space()][1]"),
        Pick("//h1"),
        Pick('//meta[@property="og:title"]/@content'),
    ),
    published=(
        Pick('//*[@id="news-time"]'),
        Pick('//meta[@itemprop="datePublished"]/@content'),
        Pick('//meta[@property="og:release_date"]/@content'),
    ),
    source=(
        Pick('//*[@id="user-info"]//h4'),
        Pick('//meta[@name="mediaid"]/@content'),
    ),
)

ARTICLE_ID = re.compile(r"/a/(\d+_\d+)")


def canonical_url(url: str) -> str:
    """www.sohu.com/a/ID_ACCOUNT for the desktop and mobile copies; spm/scm query gone."""
    return canonical_by_id(site_url(url), ARTICLE_ID, "https://www.sohu.com/a/{}")


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    return replace(meta, author=meta.author or meta.source, publisher="搜狐号")


PROFILE = SiteProfile(
    name="sohu",
    hosts=("www.sohu.com", "m.sohu.com"),
    templates=(MP_EDITOR,),
    # <title> is "标题_关键词_关键词": the keywords are cut, the h1 is preferred anyway
    title_suffix=None,
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
