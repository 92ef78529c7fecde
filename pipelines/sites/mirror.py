"""The real address behind a local mirror URL.

The sample site (`newsarchive demo`, the crawl tests) serves each saved page at
``http://127.0.0.1:PORT/<real host><real path>``; a query that is part of the article's
address (WeChat's ``/s?__biz=…``) is kept in the path as ``%3F…``, since the server
routes on paths. Profiles resolve such URLs to the address they stand for, so a mirrored
page gets the profile, template and canonical URL of the real one.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# A first path segment ending like a file ("/story.html") names no host.
FILE_ENDINGS = {"htm", "html", "shtml", "xml", "json", "js", "php", "txt", "asp", "aspx"}


def site_url(url: str) -> str:
    """`url` itself, or for a mirror URL the https address it stands for."""
    if not url:
        return url
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    if parts.hostname not in LOOPBACK:
        return url
    host, slash, rest = parts.path.lstrip("/").partition("/")
    label = host.rsplit(".", 1)[-1].lower()
    if (not slash or "." not in host or label in FILE_ENDINGS or not label.isalpha()
            or not host.replace(".", "").replace("-", "").isalnum()):
        return url
    address = f"https://{host.lower()}/{unquote(rest) if '%3F' in rest.upper() else rest}"
    return address + (f"?{parts.query}" if parts.query else "")
