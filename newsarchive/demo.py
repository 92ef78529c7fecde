"""The demo: crawl the bundled sample site on 127.0.0.1 with the real pipeline."""

from __future__ import annotations

from typing import Any

from newsarchive.seeds import Source

# The sample site serves each page at /<real host><real path>, so these patterns are the
# seeds' NetEase patterns with the host moved into the path.
NETEASE_ALLOW = (
    r"/www\.163\.com/(dy|news)/article/[0-9A-Z]{16}\.html$",
    r"/m\.163\.com/(dy|news)/article/[0-9A-Z]{16}\.html$",
    r"/dy\.163\.com/v2/article/detail/[0-9A-Z]{16}\.html$",
    r"/[a-z]+\.163\.com/\d{2}/\d{4}/\d{2}/[0-9A-Z]{16}\.html$",
)


def demo_sources(base_url: str) -> list[Source]:
    """The sources `newsarchive demo` and the crawl tests use against the sample site."""
    return [
        Source(
            name="demo-netease",
            start_urls=(f"{base_url}/news.163.com/domestic/",),
            jsonp=(f"{base_url}/news.163.com/special/cm_guonei/?callback=data_callback",),
            feeds=(f"{base_url}/rss/netease-news.xml",),
            sitemaps=(f"{base_url}/sitemap.xml",),
            allow=NETEASE_ALLOW,
            profile="netease",
            max_listing_pages=3,
        ),
        Source(
            name="demo-sina",
            sitemaps=(f"{base_url}/sitemap.xml",),
            allow=(r"/news\.sina\.com\.cn/.+\.shtml$",),
        ),
    ]


# Politeness is for other people's servers; the sample site is our own, on loopback.
DEMO_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "RETRY_TIMES": 1,
}
