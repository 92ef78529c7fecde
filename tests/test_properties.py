"""Property-based tests (hypothesis): no input makes decoding, extraction or URL
canonicalisation raise, and what comes out always has its declared types.

Inputs range from arbitrary bytes and text to HTML-shaped documents in every charset the
pages come in (declared right, wrong or not at all), real fixture pages cut and spliced at
random places, and URL-shaped strings with odd hosts, ports, IPv6 literals, percent
escapes and non-ASCII. Example counts are moderate so the file runs in well under a minute;
RELIABILITY.md gives the count a run tries.
"""

from __future__ import annotations

import pickle
import types
import typing
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipelines.decode import decode_html
from pipelines.extract import extract_article
from pipelines.sites.netease import canonical_url
from pipelines.types import Article, Image
from pipelines.urls import canonical_url_for, clean_url

FIXTURE_PAGES = [p.read_bytes() for p in
                 sorted((Path(__file__).parent / "fixtures").glob("*/*/page.html"))]

# No example database in the working tree; slow examples are not failures (extraction of a
# large random document can take a second on a loaded machine).
PROPERTIES = settings(database=None, deadline=None, print_blob=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CHARSETS = ["utf-8", "gbk", "gb2312", "gb18030", "big5", "utf-16", "latin-1", "shift_jis",
            "euc-kr", "koi8-r", "bogus-charset", "", "utf-8; q=x", "x-user-defined"]
ENCODINGS = ["utf-8", "gbk", "gb18030", "big5", "utf-16", "utf-16-be", "latin-1",
             "shift_jis"]
content_types = st.one_of(
    st.none(),
    st.sampled_from(["text/html", "application/xhtml+xml", "application/octet-stream",
                     "text/plain", "application/xml", "image/png", ""]),
    st.builds(lambda t, c: f"{t}; charset={c}", st.sampled_from(["text/html", "text/xml"]),
              st.sampled_from(CHARSETS)),
    st.text(max_size=60),
)

# Text with the characters pages are made of: CJK, Latin, punctuation, controls, NUL,
# surrogate-free astral characters, and bits of markup.
page_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("<>&;\"'=/ \n\t\x00\x0b\ufeff\ufffd")),
    ),
    max_size=400,
)
TAGS = ["html", "head", "body", "title", "meta", "div", "p", "span", "script", "style",
        "article", "section", "h1", "a", "img", "br", "table", "td", "iframe", "template",
        "svg", "math", "noscript", "!--", "![CDATA[", "?xml"]
ATTRS = [' class="post_body"', ' class="post_main"', ' id="content"',
         ' charset="gbk"', ' http-equiv="Content-Type" content="text/html; charset=gb2312"',
         ' property="article:published_time" content="2025-11-14T07:16:49+08:00"',
         ' rel="canonical" href="https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"',
         ' src="//img.example/a.jpg"', ' style="display:none"', ' hidden', ' href="javascript:1"',
         ' datetime="昨天 12:00"', ' content="99999-99-99T99:99"', ""]


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """Documents shaped like HTML: nested, unclosed and stray tags around page text."""
    parts = []
    for _ in range(draw(st.integers(0, 30))):
        tag = draw(st.sampled_from(TAGS))
        kind = draw(st.integers(0, 3))
        attrs = draw(st.sampled_from(ATTRS))
        parts.append(f"<{tag}{attrs}>" if kind < 2 else f"</{tag}>" if kind == 2
                     else draw(page_text))
    return "".join(parts)


@st.composite
def page_bodies(draw: st.DrawFn) -> bytes:
    """Bytes a server might send: arbitrary, HTML in some encoding, or a real page
    cut, spliced or misencoded."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=2000))
    if choice == 1:
        text = draw(html_documents())
        return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    page = draw(st.sampled_from(FIXTURE_PAGES))
    if choice == 2:  # cut short, and something spliced in somewhere
        cut = draw(st.integers(0, len(page)))
        at = draw(st.integers(0, cut))
        return page[:at] + draw(st.binary(max_size=200)) + page[at:cut]
    start = draw(st.integers(0, len(page)))
    return page[start:start + draw(st.integers(0, 20_000))]


hosts = st.one_of(
    st.sampled_from(["www.163.com", "m.163.com", "3g.163.com", "dy.163.com", "news.163.com",
                     "127.0.0.1:8000", "[::1]", "[::1", "[zz::1]", "xn--fiqs8s.163.com",
                     "网易.com", "WWW.163.COM.", "user:pw@www.163.com", "163.com:99999",
                     "163.com:-1", "163.com:port", ""]),
    st.text(max_size=30),
)
paths = st.one_of(
    st.builds(lambda kind, doc: f"/{kind}/article/{doc}.html",
              st.sampled_from(["dy", "news", "v2/article/detail", "x"]),
              st.from_regex(r"[0-9A-Z]{16}", fullmatch=True)),
    st.builds(lambda a, doc: f"/{a}/1113/10/{doc}.html", st.sampled_from(["25", "04"]),
              st.from_regex(r"[0-9A-Z]{16}", fullmatch=True)),
    st.text(max_size=60).map(lambda t: "/" + t),
)
urls = st.one_of(
    st.builds(lambda scheme, host, path, query, frag: f"{scheme}{host}{path}{query}{frag}",
              st.sampled_from(["https://", "http://", "HTTP://", "//", "ftp://", "",
                               "javascript:"]),
              hosts, paths,
              st.one_of(st.just(""), st.builds(lambda q: "?" + q, st.text(max_size=40)),
                        st.just("?spm=abc&from=timeline&id=1&utm_source=x")),
              st.one_of(st.just(""), st.text(max_size=10).map(lambda t: "#" + t))),
    st.text(max_size=120),
)
profiles = st.sampled_from([None, "netease", "generic"])
fetched_ats = st.one_of(st.none(), st.just("2025-11-14T09:30:00+08:00"), st.text(max_size=30))


def assert_typed(value: object, hint: object, where: str) -> None:
    """`value` has the declared type `hint` (TypedDicts, lists, unions, None)."""
    origin = typing.get_origin(hint)
    if hint is type(None):
        assert value is None, where
    elif origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                assert_typed(value, option, where)
                return
            except AssertionError as error:
                errors.append(error)
        raise AssertionError(f"{where}: {value!r} is not {hint}")
    elif origin is list:
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            assert_typed(item, typing.get_args(hint)[0], f"{where}[{index}]")
    elif typing.is_typeddict(hint):
        assert isinstance(value, dict), where
        fields = typing.get_type_hints(hint)
        assert set(value) == set(fields), f"{where}: keys {sorted(value)}"
        for key, field_hint in fields.items():
            assert_typed(value[key], field_hint, f"{where}.{key}")
    else:
        assert isinstance(value, hint), f"{where}: {value!r} is not {hint}"  # type: ignore[arg-type]


def assert_article(article: Article | None) -> None:
    if article is None:
        return
    assert_typed(article, Article, "article")
    assert article["text"].strip(), "an article has body text"
    published = article["published_at"]
    if published is not None:  # a bare date (no time, so no offset) or a time with offset
        parsed = datetime.fromisoformat(published)
        assert len(published) == 10 or parsed.tzinfo is not None, published
    pickle.loads(pickle.dumps(article))  # it travels back from a pool worker


@settings(PROPERTIES, max_examples=1000)
@given(body=page_bodies(), content_type=content_types)
def test_decoding_never_raises_and_gives_text(body: bytes, content_type: str | None) -> None:
    assert isinstance(decode_html(body, content_type), str)


@settings(PROPERTIES, max_examples=500)
@given(text=page_text, content_type=content_types)
def test_utf8_decodes_to_itself_whatever_is_declared(text: str,
                                                     content_type: str | None) -> None:
    text = text.lstrip("\ufeff")  # a leading BOM is a BOM, not text
    assert decode_html(text.encode("utf-8"), content_type) == text


@settings(PROPERTIES, max_examples=1000)
@given(body=page_bodies(), url=urls, content_type=content_types, profile=profiles,
       fetched_at=fetched_ats)
def test_extraction_never_raises_and_keeps_its_types(body: bytes, url: str,
                                                     content_type: str | None,
                                                     profile: str | None,
                                                     fetched_at: str | None) -> None:
    assert_article(extract_article(body, url, content_type=content_type, profile=profile,
                                   fetched_at=fetched_at))


@settings(PROPERTIES, max_examples=500)
@given(document=html_documents(), url=urls, profile=profiles)
def test_extraction_of_text_never_raises(document: str, url: str, profile: str | None) -> None:
    assert_article(extract_article(document, url, content_type="text/html", profile=profile))


@settings(PROPERTIES, max_examples=2000)
@given(url=urls, profile=profiles)
@example(url="https://[::1/www.163.com/dy/article/KEK0A3PK0527D7QO.html#x", profile=None)
@example(url="http://[zz::1]:99999/a?b#c", profile="netease")
def test_url_canonicalisation_never_raises_and_gives_text(url: str,
                                                          profile: str | None) -> None:
    cleaned = clean_url(url)
    assert isinstance(cleaned, str)
    assert isinstance(canonical_url_for(url, profile), str)
    canonical = canonical_url(url)
    assert isinstance(canonical, str)
    assert canonical_url(canonical) == canonical  # canonical is a fixed point


@settings(PROPERTIES, max_examples=300)
@given(docid=st.from_regex(r"[0-9A-Z]{16}", fullmatch=True),
       query=st.sampled_from(["", "?spm=1", "?from=timeline&isappinstalled=0", "#comments"]))
def test_every_url_form_of_a_netease_article_has_one_canonical_url(docid: str,
                                                                   query: str) -> None:
    forms = [f"https://www.163.com/dy/article/{docid}.html",
             f"http://m.163.com/dy/article/{docid}.html",
             f"https://3g.163.com/dy/article/{docid}.html",
             f"https://dy.163.com/v2/article/detail/{docid}.html",
             f"https://WWW.163.COM/dy/article/{docid}.html"]
    canonical = {canonical_url(form + query) for form in forms}
    canonical |= {canonical_url_for(form + query, "netease") for form in forms}
    assert canonical == {f"https://www.163.com/dy/article/{docid}.html"}


def test_image_type_is_what_articles_carry() -> None:
    # The checker above walks Article's declared types, Image included.
    assert typing.get_type_hints(Article)["images"] == list[Image]


def test_a_broken_address_on_the_page_costs_no_article() -> None:
    """Found by the properties above: urllib raises ValueError for "http://[broken/…", and
    one such <img> or <link rel=canonical> used to cost the whole article."""
    reference = Path(__file__).parent / "fixtures" / "netease" / "dy-post2020-reference"
    body = (reference / "page.html").read_bytes()
    start = body.index(b"<p", body.index(b'class="post_body"'))
    body = body[:start] + b'<p><img src="http://[broken/a.jpg"></p>' + body[start:]
    body = body.replace(b"<head>", b'<head><link rel="canonical" href="http://[x/">', 1)
    url = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"
    article = extract_article(body, url, content_type="text/html; charset=utf-8",
                              profile="netease")
    assert article is not None and article["title"].startswith("十年蝶变")
    assert "http://[broken/a.jpg" not in [image["url"] for image in article["images"]]
    generic = extract_article(body, "https://example.com/news/1.html",
                              content_type="text/html; charset=utf-8")
    assert generic is not None and generic["canonical_url"] == "https://example.com/news/1.html"
