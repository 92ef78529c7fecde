"""People's Daily online (people.com.cn: www and the channels, n1/YYYY/MMDD/cNNNN-ID.html).

Two layouts: the main one (2020-) with the body in ``div.rm_txt_con``, the byline in
``div.author`` and "date | 来源：outlet" in ``div.col-1-1``; and the channel one of
health.people.com.cn and a few others, with the body in ``div.artDet`` under
``div.articleCont``. Both write the outlet in ``<meta name="source" content="来源：X">``
and the day in ``<meta name="publishdate">``. The (责编：…) line, the 公众号 box and the
share line sit inside the body container.
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

DATE = r"(\d{4}年\d{1,2}月\d{1,2}日\s*\d{1,2}:\d{2})"
SOURCE_META = Pick('//meta[@name="source"]/@content', r"^(?:来源[:：])?\s*(.+)$")
DROPS = (
    f".//*[{has_class('edit')} or {has_class('editor')}]",  # (责编：…)
    f".//*[{has_class('tjewm')}]",  # 关注公众号 box, hidden by a stylesheet
    f".//*[{has_class('paper_num')}]",  # 分享让更多人看到
    f".//*[{has_class('box_pic')} and not(.//img)]",
    f".//*[{has_class('zdfy')} or {has_class('page_n')}]",  # page links
)

RM_TXT = Template(
    name="rm-txt",
    detect=f"//div[{has_class('rm_txt_con')}]",
    body=f"//div[{has_class('rm_txt_con')}]",
    drop=DROPS,
    title=(
        Pick(f"//div[{has_class('rm_txt')}]//h1"),
        Pick('//meta[@property="og:title"]/@content'),
        Pick("//title"),
    ),
    author=(Pick(f"//div[{has_class('rm_txt')}]//div[{has_class('author')}]"),),
    published=(
        Pick(f"//div[{has_class('col-1-1')}]", DATE),
        Pick('//meta[@name="publishdate"]/@content'),
    ),
    source=(SOURCE_META, Pick(f"//div[{has_class('col-1-1')}]/a")),
)

ART_DET = Template(
    name="art-det",
    detect=f"//div[{has_class('articleCont')}]//div[{has_class('artDet')}]",
    body=f"//div[{has_class('articleCont')}]//div[{has_class('artDet')}]",
    drop=DROPS,
    title=(
        Pick(f"//div[{has_class('articleCont')}]/div[{has_class('title')}]/h2"),
        Pick("//title"),
    ),
    published=(
        Pick(f"//div[{has_class('artOri')}]", DATE),
        Pick('//meta[@name="publishdate"]/@content'),
    ),
    source=(SOURCE_META, Pick(f"//div[{has_class('artOri')}]/a")),
)


def canonical_url(url: str) -> str:
    """The path names the article; https, no query."""
    url = site_url(url)
    normal = without_query(url)
    return "https://" + normal.split("://", 1)[1] if normal.startswith("http://") else normal


def refine(meta: Metadata, url: str, template: Template) -> Metadata:
    """The 来源 is the outlet (人民日报, 北京青年报, …): the publisher. The byline
    ("本报记者 王乐文 方 敏") loses its "本报记者" prefix."""
    author = meta.author
    if author:
        author = author.removeprefix("本报记者").strip() or None
    return replace(meta, author=author, publisher=meta.publisher or meta.source)


PROFILE = SiteProfile(
    name="people",
    hosts=("people.com.cn",),
    templates=(RM_TXT, ART_DET),
    # "标题--经济·科技--人民网"
    title_suffix=r"--[^-]{1,12}--人民网|-人民网",
    tz=BEIJING,
    canonical_url=canonical_url,
    refine=refine,
)
