"""Where new article URLs come from: pure functions from a listing's bytes to URLs.

Four kinds of listing: HTML channel pages, JSON/JSONP article lists (NetEase's JSONP,
the roll APIs of Sina, Tencent and Xinhua), RSS/Atom feeds and sitemaps. Each returns
absolute URLs in page order; the spider filters them by `allow`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from scrapy.utils.sitemap import Sitemap
from w3lib.html import get_base_url
from w3lib.url import safe_url_string

from pipelines.decode import decode_html

NEXT_PAGE_TEXTS = ("下一页", "下页", "next", "next page", "›", "»", ">")
JSONP_CALL = re.compile(r"^[^(]*\((.*)\)\s*;?\s*$", re.S)
TRAILING_COMMA = re.compile(r",\s*([\]}])")
JSONP_DOCURL = re.compile(r"""["']?docurl["']?\s*:\s*["']([^"']+)["']""")
# Keys under which article lists name an item's address: NetEase `docurl`, Sina and
# Tencent `url`, Xinhua `LinkUrl`, others `link`. Compared case-insensitively.
URL_KEYS = ("docurl", "url", "linkurl", "link")


@dataclass(frozen=True)
class ListingLinks:
    links: list[str]
    next_pages: list[str]


def links_from_html(body: bytes, url: str, content_type: str | None = None) -> ListingLinks:
    """Every link of an HTML listing page, and its 'next page' links."""
    text = decode_html(body, content_type)
    if not text.strip():
        return ListingLinks([], [])
    try:
        tree = lxml.html.fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return ListingLinks([], [])
    base = get_base_url(text[:4096], url)
    links: list[str] = []
    next_pages: list[str] = []
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        absolute = safe_url_string(urljoin(base, href))
        links.append(absolute)
        if _is_next_link(anchor):
            next_pages.append(absolute)
    return ListingLinks(_unique(links), _unique(next_pages))


def _is_next_link(anchor: lxml.html.HtmlElement) -> bool:
    label = (anchor.text_content() or "").strip().lower()
    rel = (anchor.get("rel") or "").lower()
    classes = (anchor.get("class") or "").lower()
    return label in NEXT_PAGE_TEXTS or "next" in rel.split() or "next" in classes.split()


def links_from_feed(body: bytes) -> list[str]:
    """Item links of an RSS 2.0, RSS 1.0 or Atom feed."""
    try:
        root = lxml.etree.fromstring(body, parser=_xml_parser())
    except lxml.etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    links: list[str] = []
    for element in root.iter():
        tag = lxml.etree.QName(element).localname if isinstance(element.tag, str) else ""
        if tag == "link":
            href = element.get("href") or (element.text or "")
            parent = element.getparent()
            parent_tag = lxml.etree.QName(parent).localname if parent is not None else ""
            if parent_tag in ("item", "entry") and href.strip():
                links.append(href.strip())
        elif (tag == "guid" and element.get("isPermaLink", "true") == "true"
              and (element.text or "").startswith("http")):
            links.append(element.text.strip())
    return _unique(links)


def links_from_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, sub-sitemap URLs) of a sitemap or a sitemap index."""
    try:
        sitemap = Sitemap(body)
    except (lxml.etree.XMLSyntaxError, ValueError):
        return [], []
    locs = [entry["loc"] for entry in sitemap if entry.get("loc")]
    if sitemap.type == "sitemapindex":
        return [], _unique(locs)
    return _unique(locs), []


def links_from_jsonp(text: str) -> list[str]:
    """Article URLs of a JSON or JSONP article list, in list order.

    NetEase: `data_callback([{docurl, newstype, ...}, ...])`; Sina's roll API:
    `{"result": {"data": [{"url": ...}]}}`; Tencent: `{"data": {"list": [{"url": ...}]}}`;
    Xinhua: `{"data": {"list": [{"LinkUrl": ...}]}}`. Each item's address is the first of
    URL_KEYS it has; items whose NetEase `newstype` is not `article` (videos, photo sets)
    are left out. Lists are not always strict JSON, so a lenient pass follows a strict one, and
    NetEase's `docurl`s are read by pattern when even that fails.
    """
    match = JSONP_CALL.match(text.strip())
    payload = match.group(1) if match else text
    data = _loads_lenient(payload)
    if data is None:
        return _unique(JSONP_DOCURL.findall(payload))
    links: list[str] = []
    _collect_item_urls(data, links)
    return _unique(links)


def _collect_item_urls(node: object, links: list[str]) -> None:
    """Walk the JSON in document order; an object with an http(s) address under one of
    URL_KEYS is an item (its own children are not searched: thumbnails, share links)."""
    if isinstance(node, list):
        for child in node:
            _collect_item_urls(child, links)
        return
    if not isinstance(node, dict):
        return
    keys = {str(k).lower(): v for k, v in node.items()}
    for key in URL_KEYS:
        value = keys.get(key)
        if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
            if str(keys.get("newstype", "article")).lower() in ("article", ""):
                links.append(value.strip())
            return
    for child in node.values():
        _collect_item_urls(child, links)


def _loads_lenient(payload: str) -> list | dict | None:
    for candidate in (payload, TRAILING_COMMA.sub(r"\1", payload)):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    return None


def _xml_parser() -> lxml.etree.XMLParser:
    # No network, no entity expansion: feeds are untrusted input.
    return lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True,
                                huge_tree=False)


def _unique(urls: list[str]) -> list[str]:
    return list(dict.fromkeys(urls))
