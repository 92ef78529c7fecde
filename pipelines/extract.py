"""HTML bytes -> `Article`: the extraction stage, a pure function.

Decode once, parse once (lxml), then either
- the site profile's template: read the metadata off the tree, prune the body
  container (template drops + hidden elements), collect its images, and hand that
  subtree alone to trafilatura for the paragraphs; or
- no profile / no template matched: plain trafilatura with its own metadata, in
  precision, default, then recall mode until a mode's text reads as an article
  (`pipelines.generic`, `pipelines.pagekind`); `explain` says how each mode was judged.

No module-level mutable state, picklable arguments and results: this runs in
process-pool workers. Malformed input gives None, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import lxml.html
import trafilatura
from courlan import extract_domain
from lxml import etree
from lxml.html import HtmlElement

from pipelines.decode import decode_html
from pipelines.generic import TRAFILATURA as _TRAFILATURA
from pipelines.generic import best_attempt as _best_attempt
from pipelines.generic import headline
from pipelines.generic import text_lines as _lines
from pipelines.pagekind import anchor_texts
from pipelines.sites import profile_for
from pipelines.sites.base import (
    Metadata,
    Pick,
    SiteProfile,
    Template,
    clean_credit,
    clean_text,
    is_date_only,
    join_url,
    normalise_url,
    parse_datetime,
    pick,
    read_metadata,
    strip_suffix,
)
from pipelines.sites.mirror import site_url
from pipelines.types import Article, Image

# Hidden copies of recommendation lists sit inside NetEase body containers; a reader
# never sees them. Inline styles only: stylesheets are not evaluated.
HIDDEN = (
    './/*[contains(translate(@style, "DISPLAYNOE ", "displaynoe"), "display:none")'
    ' or contains(translate(@style, "VISIBLTYHDN ", "visiblthdn"), "visibility:hidden")'
    " or @hidden]"
)
NEVER_TEXT = ".//script | .//style | .//noscript | .//iframe | .//textarea | .//template"
# lxml refuses strings with NUL / C0 control characters; an XML declaration in a str
# makes it raise as well.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
# The first element after an XML prolog, comments and doctype.
_XML_ROOT = re.compile(
    r"(?:\s*<\?[^>]*>|\s*<!--.*?-->|\s*<!DOCTYPE[^>]*>)*\s*<([\w:-]+)", re.S | re.I
)
_NOT_HTML_ROOTS = {"rss", "feed", "urlset", "sitemapindex", "rdf:rdf", "opml"}
# The fast pass's text is kept when it holds this share of the body container's letters.
FAST_KEEPS = 0.8
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
# What the generic path reads itself: standard metadata with full precision (a time
# with its offset, where trafilatura keeps only the day) and the 来源 credit some
# Chinese CMSes put in a meta tag. `body` only locates images.
GENERIC = Template(
    name="generic",
    detect="/html",
    body='(//*[@itemprop="articleBody"] | //article)[1]',
    published=(
        Pick('//meta[@property="article:published_time"]/@content'),
        Pick('//meta[@itemprop="datePublished"]/@content'),
        Pick('//time[@itemprop="datePublished"]/@datetime'),
    ),
    publisher=(
        Pick('//meta[@name="source"]/@content'),
        Pick('//meta[@name="mediaid"]/@content'),  # Sina's CMS: the 来源 outlet
    ),
)
CANONICAL = (
    Pick('//head/link[@rel="canonical"]/@href'),
    Pick('//head/meta[@property="og:url"]/@content'),
)


def extract_article(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    profile: str | None = None,
    fetched_at: str | None = None,
) -> Article | None:
    """Extract the article on one page; None when the page holds no article."""
    tree = parse_html(body, content_type)
    if tree is None:
        return None
    site = profile_for(url, profile)
    matched = site.match(tree) if site is not None else None
    base = _parse_fetched_at(fetched_at)
    if site is not None and matched is not None:
        return _with_template(tree, url, site, *matched, base)
    return _generic(tree, url, site, base)


def parse_html(body: bytes | str, content_type: str | None = None) -> HtmlElement | None:
    """The one lxml tree of a page (None if there is no document at all)."""
    if isinstance(body, bytes) and _looks_binary(body):
        return None
    if not _html_media_type(content_type):
        return None
    text = body if isinstance(body, str) else decode_html(body, content_type)
    if not _looks_like_html(text):
        return None
    text = _CONTROL.sub("", _XML_DECL.sub("", text, count=1))
    try:
        tree = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):  # "Document is empty" and the like
        return None
    if not isinstance(tree, HtmlElement):
        return None
    # Comments go, their tail text stays: trafilatura loses the text that follows a
    # comment inside a paragraph (NetEase's "<p><!--StartFragment-->text", React's
    # "<!-- -->" separators on nytimes.com or gizmodo.com).
    etree.strip_tags(tree, etree.Comment)
    return tree


def _html_media_type(content_type: str | None) -> bool:
    """False for a declared non-HTML type (feeds, sitemaps, JSONP, robots.txt): those are
    the discovery stage's. Unknown or generic types go on to sniffing."""
    media = (content_type or "").split(";")[0].strip().lower()
    return not media or media in _HTML_TYPES or media == "application/octet-stream"


def _looks_like_html(text: str) -> bool:
    """Sniff what the header did not say: markup first, and not an XML feed or sitemap."""
    head = text[:2048].lstrip("\ufeff \t\r\n")
    if not head.startswith("<"):
        return "<html" in head.lower() or "<body" in head.lower()
    root = _XML_ROOT.match(head)
    return not (root and root.group(1).lower() in _NOT_HTML_ROOTS)


def _looks_binary(body: bytes) -> bool:
    """Compressed or binary bodies decode to CJK-looking garbage under GB18030; refuse
    them rather than archive it. Text, in any encoding, has almost no C0 controls."""
    head = body[:4096]
    controls = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D))
    return controls > len(head) // 100 and not head.startswith((b"\xff\xfe", b"\xfe\xff"))


# -- a profile's template ----------------------------------------------------------


def _with_template(
    tree: HtmlElement, url: str, site: SiteProfile, template: Template, found: list,
    base: datetime | None,
) -> Article | None:
    container = found[0] if found and isinstance(found[0], HtmlElement) else None
    if container is None:
        return None
    # Metadata first: trafilatura gets the body subtree afterwards.
    meta = site.refine(read_metadata(tree, template), url, template)
    for xpath in (*template.drop, HIDDEN, NEVER_TEXT):
        for node in container.xpath(xpath):
            if isinstance(node, HtmlElement) and node is not container:
                node.drop_tree()  # keeps the tail text, which belongs to the parent
    # Relative image addresses resolve against the real page, also for a mirror's copy.
    images = _images(container, _base_url(tree, site_url(url)), template.caption)
    # A caption is part of what the reader sees; trafilatura drops <figure> wholesale
    # when images are not extracted, so make figures plain blocks and captions paragraphs.
    for node in container.iter("figure", "figcaption"):
        node.tag = "div" if node.tag == "figure" else "p"
    # The same for a template's own caption elements (Sina's span.img_descr beside the
    # <img>): trafilatura drops a span that shares its block with an image.
    for img in list(container.iter("img")):
        for caption in img.xpath(template.caption) if template.caption else ():
            if isinstance(caption, HtmlElement) and caption.tag in ("span", "em", "font"):
                caption.tag = "p"
    text = _body_text(container)
    if not text:
        return None
    return _article(
        url, site.canonical_url(url), meta, site, text, images, tree, site.name, template.name, base
    )


def _body_text(container: HtmlElement) -> str:
    """The container's paragraphs, one a line, by trafilatura on that subtree alone.

    The profile has already isolated the body, so trafilatura runs first without its
    fallbacks (readability and jusText, compared against its own result: 40% of the
    call). Only when that keeps less than FAST_KEEPS of the container's letters (a
    WeChat template whose paragraphs are nested <section>s) are the fallbacks run."""
    visible = _letters(container.text_content())
    # Told that the container is the article, trafilatura keeps the text that sits
    # loose in it (between images, outside any <p>), which it drops from a <div> of a
    # class it does not know (The Paper's first line).
    container.tag = "article"
    wrapper = lxml.html.Element("html")
    wrapper_body = etree.SubElement(wrapper, "body")
    wrapper_body.append(container)  # moves it: the page tree is not needed any more
    try:
        text = _lines(trafilatura.extract(wrapper, fast=True, **_TRAFILATURA))
        if _letters(text) < FAST_KEEPS * visible:  # trafilatura copies the tree it reads
            text = _lines(trafilatura.extract(wrapper, **_TRAFILATURA))
    except Exception:  # trafilatura on hostile markup; the page then has no article
        return ""
    return text


def _letters(text: str) -> int:
    """How many characters are not white space."""
    return sum(map(len, text.split()))


def _images(container: HtmlElement, base_url: str, caption_xpath: str) -> list[Image]:
    images: list[Image] = []
    seen: set[str] = set()
    for img in container.iter("img"):
        src = _image_src(img)
        if not src:
            continue
        absolute = join_url(base_url, src)
        if not absolute or not absolute.startswith(("http://", "https://")) or absolute in seen:
            continue
        seen.add(absolute)
        found = img.xpath(caption_xpath) if caption_xpath else []
        caption = clean_text(found[0].text_content()) if found else ""
        images.append({"url": absolute, "caption": caption or None})
    return images


def _image_src(img: HtmlElement) -> str | None:
    # Lazy-loading pages keep the real address in data-src and a 1x1 GIF in src.
    for attr in ("data-src", "data-original", "src"):
        value = (img.get(attr) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return None


# -- no template: plain trafilatura --------------------------------------------------


def _generic(
    tree: HtmlElement, url: str, site: SiteProfile | None, base: datetime | None
) -> Article | None:
    real = site_url(url)  # the sample site's mirror: the address it stands for
    attempt = _best_attempt(tree, real, anchor_texts(tree))[0]
    if attempt is None:
        return None
    doc, text = attempt.doc, attempt.text
    # trafilatura worked on a copy, so the page tree is intact for the metadata it
    # reads too coarsely (dates to the day, editors as authors) and for the images.
    found = read_metadata(tree, GENERIC)
    meta = Metadata(
        title=headline(doc.title or found.title, tree),
        author=_not_an_editor(doc.author),
        publisher=found.publisher or doc.sitename,
        published=found.published or doc.date,
    )
    container = next(iter(tree.xpath(GENERIC.body)), None)
    images: list[Image] = []
    if isinstance(container, HtmlElement):
        images = _images(container, _base_url(tree, real), GENERIC.caption)
    if not images:  # no <article> element (or no image in it): the page's lead image
        lead = pick(tree, (Pick('//meta[@property="og:image"]/@content'),))
        absolute = join_url(real, lead) if lead else None
        if absolute and absolute.startswith(("http://", "https://")):
            images = [{"url": absolute, "caption": None}]
    canonical = site.canonical_url(url) if site is not None else _declared_canonical(tree, real)
    return _article(url, canonical, meta, site, text, images, tree, "generic", None, base)


def explain(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    profile: str | None = None,
) -> list[str]:
    """How the page was read, one line an attempt: what `newsarchive eval` and debugging
    show beside a page where no article was found."""
    tree = parse_html(body, content_type)
    if tree is None:
        return ["not an HTML document"]
    site = profile_for(url, profile)
    matched = site.match(tree) if site is not None else None
    if site is not None and matched is not None:
        return [f"{site.name} template {matched[0].name}"]
    chosen, tried = _best_attempt(tree, url, anchor_texts(tree))
    lines = []
    for attempt in tried:
        verdict = attempt.verdict
        what = "article" if verdict.article else "; ".join(verdict.reasons)
        mark = " (chosen)" if attempt is chosen else ""
        lines.append(f"{attempt.mode}: {len(attempt.text)} characters, {what}{mark}")
    return lines


def _declared_canonical(tree: HtmlElement, url: str) -> str:
    """The page's own canonical address (link rel=canonical, then og:url), normalised.

    Trusted across hosts (AMP caches and mirrors point at the origin) but not when it
    is a bare host: soft-404 and paywall pages declare the home page as canonical.
    """
    declared = pick(tree, CANONICAL)
    absolute = join_url(url, declared) if declared else None
    if absolute:
        try:
            parts = urlsplit(absolute)
        except ValueError:  # a broken host (see base.join_url): not an address to keep
            return normalise_url(url)
        if parts.scheme in ("http", "https") and parts.netloc and parts.path.strip("/"):
            return normalise_url(absolute)
    return normalise_url(url)


def _not_an_editor(author: str | None) -> str | None:
    """Chinese pages credit the desk editor ("责任编辑：X") where trafilatura looks for a
    byline; an editor is not the author."""
    if not author or re.match(r"^\s*(?:责任)?编辑\s*[:：]", author):
        return None
    return author


# -- shared ---------------------------------------------------------------------------


def _article(
    url: str,
    canonical: str,
    meta: Metadata,
    site: SiteProfile | None,
    text: str,
    images: list[Image],
    tree: HtmlElement,
    profile_name: str,
    template_name: str | None,
    base: datetime | None,
) -> Article:
    tz = site.tz if site is not None else UTC
    published = parse_datetime(meta.published, tz, base)
    suffix = site.title_suffix if site is not None else None
    return {
        "url": url,
        "canonical_url": canonical,
        "title": strip_suffix(meta.title, suffix),
        "author": clean_credit(meta.author),
        "publisher": clean_credit(meta.publisher),
        "published_at": published,
        "published_date_only": is_date_only(published),
        "text": text,
        "images": images,
        "lang": _lang(text, tree),
        "site": _site(canonical),
        "profile": profile_name,
        "template": template_name,
    }


def _lang(text: str, tree: HtmlElement) -> str | None:
    """Chinese ("zh") when CJK characters dominate the text, else the page's declared
    language, else "en" for Latin script. Cheap on purpose: no language model."""
    sample = text[:2000]
    cjk, latin = len(_CJK.findall(sample)), len(_LATIN.findall(sample))
    if cjk and cjk >= latin / 4:
        return "zh"
    declared = (tree.get("lang") or tree.get("xml:lang") or "").strip().lower()
    primary = re.split(r"[-_]", declared)[0] if declared else ""
    if primary and primary != "zh" and primary.isalpha():
        return primary
    return "en" if latin else None


def _site(canonical: str) -> str:
    domain = extract_domain(canonical, fast=True)
    if domain:
        return domain
    try:
        parts = urlsplit(canonical)
    except ValueError:
        return ""
    return parts.hostname or parts.netloc or ""


def _base_url(tree: HtmlElement, url: str) -> str:
    base = tree.xpath("//head/base/@href")
    return (join_url(url, str(base[0]).strip()) or url) if base else url


def _parse_fetched_at(fetched_at: str | None) -> datetime | None:
    if not fetched_at:
        return None
    try:
        return datetime.fromisoformat(fetched_at)
    except ValueError:
        return None
