"""ifeng (news.ifeng.com/c/ID, pl.ifeng.com/c/ID and the other *.ifeng.com channels).

The /c/ article page is a React page whose CSS-module class names carry a build hash:
``index_main_content_j-HoG`` (2023-), ``main_content-r5RGqegj`` (2019-2022). The
templates match on the stable prefix. Every /c/ article is published through a 大风号
account (an outlet's or a self-media one), shown above the body; as for NetEase's 网易号,
the account is the author and 凤凰网 the publisher. The time is in ``<meta name="og:time ">``
(with the trailing space ifeng writes) and in the header.
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
    class_prefix,
    url_path,
    without_query,
)
from pipelines.sites.mirror import site_url

MAIN = f"//div[{class_prefix('index_main_content')} or {class_prefix('main_content-')}]"

REACT = Template(
    name="react",
    detect=MAIN,
    body=MAIN,
    drop=(
        f".//*[{class_prefix('index_copyright')} or {class_prefix('copyright-')}]",
        f".//*[{class_prefix('index_author')}]",  # 责编：…
        f".//*[{class_prefix('index_videoBox')} or {class_prefix('videoBox-')}]",
    ),
    title=(
        Pick(f"//h1[{class_prefix('index_topic')} or {class_prefix('topic-')}]"),
        Pick('//meta[@property="og:title"]/@content'),
        Pick("//h1"),
    ),
    published=(
        Pick('//meta[normalize-space(@name)="og:time"]/@content'),
        Pick(f"//*[{class_prefix('index_timeBref')} or {class_prefix('timeBref-')}]"),
    ),
    source=(
        Pick(f"//*[{class_prefix('index_sourceTitleText')} or {class_prefix('sourceTitleText-')}]"),
        Pick(f"//*[{class_prefix('index_source_')} or {class_prefix('source-')}]/a"),
    ),
)

ARTICLE_ID = re.compile(r"/c/([0-9A-Za-z]{8,})")


def canonical_url(url: str) -> str:
    """https://HOST/c/ID, without the query (from, spm) the share links add."""
    url = site_url(url)
    normal = without_query(url)
    if ARTICLE_ID.search(url_path(url)) and normal.startswith("http://"):
        normal = "https://" + normal[len("http://"):]
    return normal


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    return replace(meta, author=meta.author or meta.source, publisher="凤凰网")


PROFILE = SiteProfile(
    name="ifeng",
    hosts=("ifeng.com",),
    templates=(REACT,),
    title_suffix=r"_凤凰网(?:\w{0,4})?",
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
