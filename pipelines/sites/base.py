"""The shape of a site profile: data saying where things are on a site's pages.

A profile lists the hosts it serves and one `Template` per page layout the site uses.
A template is data only: an XPath recognising the layout, the body container, the
boilerplate to drop inside it, and where title / author / publisher / time are read.
What data cannot say (how a URL becomes canonical, a site's rule for which credit is
the author) goes in a couple of plain functions on the profile. Everything is frozen
and module-level, so profiles are shared safely by process-pool workers.

Selectors are XPath 1.0 (lxml's own): no cssselect translation on the hot path, and
``string(...)`` / attribute selections can read text and attributes in one expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from courlan import normalize_url
from lxml.html import HtmlElement

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def has_class(name: str) -> str:
    """XPath predicate: the class attribute holds the token `name`.

    ``contains(@class, "post_body")`` would also match ``post_body_ad``; this does not.
    The plain ``contains`` goes first because XPath's ``and`` stops at a false operand:
    on a page of thousands of elements it spares most of them the string building
    (10-15% of a NetEase template's detection, 1.75 against 1.5-1.65 ms a page).
    """
    return (f'(contains(@class, "{name}") and '
            f'contains(concat(" ", normalize-space(@class), " "), " {name} "))')


def class_prefix(prefix: str) -> str:
    """XPath predicate: one of the class tokens starts with `prefix` (CSS modules, whose
    class names end in a build hash: ``index_main_content__a1b2c``)."""
    return (f'(starts-with(@class, "{prefix}") or '
            f'contains(concat(" ", normalize-space(@class)), " {prefix}"))')


@dataclass(frozen=True)
class Pick:
    """Where one metadata field is read: an XPath, optionally narrowed by a regex.

    The XPath may select elements (their text is used), attributes or strings; the
    first non-empty result wins. With `pattern`, the value is its first group (or the
    whole match) and a value that does not match is skipped.
    """

    xpath: str
    pattern: str | None = None


Picks = tuple[Pick, ...]


@dataclass(frozen=True)
class Template:
    """One page layout of a site."""

    name: str
    detect: str  # XPath; the template applies when it selects anything
    body: str  # XPath of the body container (its first match)
    drop: tuple[str, ...] = ()  # XPaths, relative to the body container, of boilerplate
    title: Picks = ()
    author: Picks = ()
    publisher: Picks = ()
    published: Picks = ()
    source: Picks = ()  # the 来源 credit, before the profile decides what it is
    # XPath from an <img> in the body to the element holding its caption
    caption: str = "ancestor::figure[1]//figcaption"


@dataclass(frozen=True)
class Metadata:
    """Metadata as read off a page, before dates are normalised."""

    title: str | None = None
    author: str | None = None
    publisher: str | None = None
    published: str | None = None  # as the page writes it; extraction makes it ISO 8601
    source: str | None = None


def _canonical_default(url: str) -> str:
    return normalise_url(url)


def _refine_default(meta: Metadata, url: str, template: Template) -> Metadata:
    return meta


@dataclass(frozen=True)
class SiteProfile:
    """A site: its hosts, its page templates and its few site-specific rules."""

    name: str
    hosts: tuple[str, ...]  # host suffixes: "163.com" serves www.163.com, news.163.com, ...
    templates: tuple[Template, ...]
    # A regex for the site name <title> appends ("_网易新闻"), cut from the end of titles.
    title_suffix: str | None = None
    tz: tzinfo = UTC  # for page times written without an offset
    canonical_url: Callable[[str], str] = _canonical_default
    refine: Callable[[Metadata, str, Template], Metadata] = _refine_default

    def serves(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    def match(self, tree: HtmlElement) -> tuple[Template, list[Any]] | None:
        """The first template whose detection finds something, and what its body xpath
        finds. Most templates detect by their body xpath: it is then evaluated once (a
        whole-tree search, ~1.7 ms on a 270 KB NetEase page)."""
        for template in self.templates:
            detected = tree.xpath(template.detect)
            if detected:
                same = template.body == template.detect
                return template, detected if same else tree.xpath(template.body)
        return None


# -- reading ------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """Lower-case scheme/host, default port and tracking parameters gone, no fragment."""
    with suppress(Exception):  # courlan rejects some malformed URLs: keep them as given
        url = normalize_url(url)
    try:
        return urldefrag(url)[0]
    except ValueError:  # urllib refuses it (a broken IPv6 host): cut the fragment by hand
        return url.split("#", 1)[0]


# urllib raises ValueError for some addresses pages do contain ("http://[broken/a.jpg",
# a port that is not a number): one such link must not cost the whole article.


def url_path(url: str) -> str:
    """The path of a URL, also of one urllib refuses."""
    try:
        return urlsplit(url.strip()).path
    except ValueError:
        rest = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*:(//[^/?#]*)?", "", url.strip())
        return re.split(r"[?#]", rest, maxsplit=1)[0]


def without_query(url: str) -> str:
    """The URL normalised and without its query: the canonical form of an article
    address whose parameters only track shares and referrals."""
    return normalise_url(url).split("?", 1)[0]


def canonical_by_id(url: str, article_id: re.Pattern[str], form: str) -> str:
    """`form` filled with the article ID `article_id` finds in the URL's path, as the
    sites that serve one article under several hosts and paths name it; the URL without
    its query when the path holds no ID."""
    match = article_id.search(url_path(url))
    return form.format(match.group(1)) if match else without_query(url)


def join_url(base: str, href: str) -> str | None:
    """`href` made absolute against `base`; None when urllib refuses either."""
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def clean_text(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def pick(tree: HtmlElement, picks: Picks) -> str | None:
    """The first non-empty value the picks find in `tree`."""
    for p in picks:
        result = tree.xpath(p.xpath)
        values = result if isinstance(result, list) else [result]
        for value in values:
            text = value.text_content() if isinstance(value, HtmlElement) else str(value)
            text = clean_text(text)
            if text and p.pattern:
                match = re.search(p.pattern, text)
                text = clean_text(match.group(match.lastindex or 0)) if match else ""
            if text:
                return text
    return None


# What CMSes print right after a credit: counters ("网友评论 0 条", "阅读(1234)") and the
# share / tool bar ("分享到", "举报", "字号"). The credit ends where they start.
_CREDIT_COUNTER = re.compile(
    r"\s*(?:网友)?(?:评论|跟贴|跟帖|参与|阅读|点击|浏览)(?:数|量)?\s*[:：(（]?\s*\d[\d,]*.*$"
)
_CREDIT_TOOLS = re.compile(
    r"(?:\s+|\s*[|｜/]\s*)(?:分享到|分享至|分享|举报|打印|收藏|字号|我要评论|网友评论|"
    r"手机看新闻|扫一扫|关注|(?:Share|Comments?)\b).*$|\s*[|｜]\s*$",
    re.I,
)
_CREDIT_LABEL = re.compile(
    r"^(?:本文|文章|新闻)?(?:来源|来自|出处|稿源|作者|记者|撰文|文|编辑|责任编辑|Source|Author|By)"
    r"\s*[:：]\s*|^By\s+",
    re.I,
)
_BARE_LABEL = re.compile(
    r"(?:来源|来自|作者|记者|编辑|责任编辑|稿源|出处|Source|Author|By|网友评论|评论|分享)[:：]?",
    re.I,
)

_TOOL_FIRST = re.compile(r"分享|举报|打印|收藏|字号|我要评论|扫一扫")


def clean_credit(value: str | None) -> str | None:
    """A publisher or author as a name: without the "来源：" label before it, or the
    comment counter and share bar a page prints after it. None when only a label is
    left (a page that prints "作者" with no name)."""
    if not value:
        return None
    value = clean_text(value)
    value = _CREDIT_LABEL.sub("", value)
    value = _CREDIT_COUNTER.sub("", value)
    value = _CREDIT_TOOLS.sub("", value)
    value = value.strip(" -_|｜·•:：,，")
    if not value or _BARE_LABEL.fullmatch(value) or _TOOL_FIRST.match(value):
        return None
    return value


def read_metadata(tree: HtmlElement, template: Template) -> Metadata:
    return Metadata(
        title=pick(tree, template.title),
        author=pick(tree, template.author),
        publisher=pick(tree, template.publisher),
        published=pick(tree, template.published),
        source=pick(tree, template.source),
    )


def strip_suffix(title: str | None, suffix: str | None) -> str | None:
    if not title:
        return None
    if suffix:
        stripped = re.sub(f"(?:{suffix})$", "", title).strip()
        title = stripped or title  # a title that is nothing but the suffix stays
    return title or None


# -- dates ----------------------------------------------------------------------------

# The fixed formats Chinese news CMSes print; tried strictly before anything fuzzier.
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")
_DATE_IN_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
)


_DAY_ONLY = re.compile(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?")


def parse_datetime(raw: str | None, tz: tzinfo, base: datetime | None = None) -> str | None:
    """A page's time as ISO 8601 with an offset; times without one are in `tz`.

    A date the page writes without a time stays a date ("2019-06-12"): no invented
    midnight (`is_date_only` tells them apart). `base` (the fetch time) anchors
    relative times such as "3小时前".
    """
    if not raw:
        return None
    raw = clean_text(raw)
    match = _DATE_IN_TEXT.search(raw)
    candidate = match.group(0) if match else raw
    day = _DAY_ONLY.fullmatch(candidate.strip())
    if day:
        with suppress(ValueError):
            return date(*map(int, day.groups())).isoformat()
        return None
    parsed: datetime | None = None
    with suppress(ValueError):
        parsed = datetime.fromisoformat(candidate)  # also takes "YYYY-MM-DD HH:MM:SS"
    for fmt in _FORMATS if parsed is None else ():
        try:
            parsed = datetime.strptime(candidate, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        parsed = _dateparser(candidate, tz, base)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def is_date_only(published: str | None) -> bool:
    """Whether a `parse_datetime` result is a day without a time of day."""
    return bool(published) and "T" not in published  # type: ignore[operator]


def _dateparser(text: str, tz: tzinfo, base: datetime | None) -> datetime | None:
    import dateparser  # imported lazily: slow to import, rarely needed

    offset = tz.utcoffset(None) or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    settings = {
        "TIMEZONE": f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DAY_OF_MONTH": "first",
        "DATE_ORDER": "YMD",
    }
    if base is not None:
        settings["RELATIVE_BASE"] = base.astimezone(tz).replace(tzinfo=None)
    try:
        return dateparser.parse(text, settings=settings)  # type: ignore[arg-type]
    except Exception:  # dateparser raises assorted errors on odd input
        return None
