"""Discovery: article links out of HTML listings, JSONP lists, feeds and sitemaps."""

from __future__ import annotations

from crawler.discovery import links_from_feed, links_from_html, links_from_jsonp, links_from_sitemap


def test_html_listing_links_and_next_page() -> None:
    html = """<html><head><meta charset="gb2312"></head><body>
    <a href="/dy/article/G33O1QTA05372UZS.html">一</a>
    <a href="https://news.163.com/21/0218/07/G33O1QTA05372UZT.html">二</a>
    <a href="javascript:void(0)">x</a><a href="#top">top</a>
    <a href="index_02.html">下一页</a></body></html>""".encode()
    found = links_from_html(html, "https://news.163.com/domestic/")
    assert "https://news.163.com/dy/article/G33O1QTA05372UZS.html" in found.links
    assert "https://news.163.com/21/0218/07/G33O1QTA05372UZT.html" in found.links
    assert found.next_pages == ["https://news.163.com/domestic/index_02.html"]
    assert not any(link.startswith("javascript") for link in found.links)


def test_html_listing_empty_or_broken() -> None:
    assert links_from_html(b"", "https://x/").links == []
    assert links_from_html(b"\x00\xff\xfe garbage", "https://x/").links == []


def test_jsonp_keeps_articles_only_and_tolerates_trailing_commas() -> None:
    body = """data_callback([
      {"title":"一","docurl":"https://www.163.com/dy/article/G33O1QTA05372UZS.html",
       "time":"11/14/2025 07:16:49","newstype":"article"},
      {"title":"视频","docurl":"https://www.163.com/v/video/VABC.html","newstype":"video"},
      {"title":"二","docurl":"https://www.163.com/news/article/G33O1QTA05372UZT.html",},
    ])"""
    assert links_from_jsonp(body) == [
        "https://www.163.com/dy/article/G33O1QTA05372UZS.html",
        "https://www.163.com/news/article/G33O1QTA05372UZT.html",
    ]


def test_jsonp_unparseable_falls_back_to_docurls() -> None:
    body = "data_callback([{title:'一',docurl:'https://www.163.com/dy/article/G33O1QTA05372UZS.html'}])"
    assert links_from_jsonp(body) == ["https://www.163.com/dy/article/G33O1QTA05372UZS.html"]


def test_rss_and_atom() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <link>https://news.163.com/</link>
      <item><title>a</title><link>https://www.163.com/dy/article/A.html</link></item>
      <item><title>b</title><link> https://www.163.com/dy/article/B.html </link></item>
    </channel></rss>"""
    assert links_from_feed(rss) == ["https://www.163.com/dy/article/A.html",
                                    "https://www.163.com/dy/article/B.html"]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><link href="https://x/"/>
      <entry><link href="https://x/a.html"/></entry></feed>"""
    assert links_from_feed(atom) == ["https://x/a.html"]
    assert links_from_feed(b"not xml at all") == []


def test_sitemap_and_index() -> None:
    urlset = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>https://x/a.html</loc></url><url><loc>https://x/b.html</loc></url></urlset>"""
    assert links_from_sitemap(urlset) == (["https://x/a.html", "https://x/b.html"], [])
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://x/s1.xml</loc></sitemap></sitemapindex>"""
    assert links_from_sitemap(index) == ([], ["https://x/s1.xml"])
