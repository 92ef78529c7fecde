"""Extraction: every article fixture against its snapshot and its ground truth, plus the
rules the fixtures cannot show one by one (pruning, charsets, canonical URLs, non-articles).

After an intended extraction change: `python tests/regen_expected.py`, review the diff.
"""

from __future__ import annotations

import pickle
import random
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from regen_expected import FIXTURES, extract_fixture, fixture_dirs, load_json

from pipelines.extract import extract_article
from pipelines.sites import PROFILES, profile_for
from pipelines.sites.netease import canonical_url

CASES = fixture_dirs()
IDS = [str(case.relative_to(FIXTURES)) for case in CASES]


@pytest.fixture(scope="module")
def extracted() -> dict[Path, object]:
    return {case: extract_fixture(case) for case in CASES}


def test_there_are_article_fixtures() -> None:
    assert (FIXTURES / "netease" / "dy-post2020-reference") in CASES


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_snapshot(case: Path, extracted: dict[Path, object]) -> None:
    expected = case / "expected.json"
    assert expected.exists(), "no snapshot: run python tests/regen_expected.py"
    assert extracted[case] == load_json(expected), (
        "extraction changed: if intended, run python tests/regen_expected.py and review"
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_truth(case: Path, extracted: dict[Path, object]) -> None:
    truth = load_json(case / "truth.json")
    article = extracted[case]
    assert isinstance(article, dict)
    for field in ("title", "author", "publisher", "published_at"):
        if field in truth:
            assert article[field] == truth[field], field
    for boilerplate in truth.get("not_in_text", []):
        assert boilerplate not in article["text"]
    if case.parent.name == "netease":  # a template: exactly what the reader sees
        assert article["text"] == truth["text"]
    else:  # plain trafilatura: close, not exact (it may drop a caption)
        assert f1(article["text"], truth["text"]) >= 0.95


def tokens(text: str) -> Counter[str]:
    """Bag of tokens: one CJK character, or one run of letters/digits, case-folded."""
    cjk = "\u3400-\u9fff\uf900-\ufaff"
    return Counter(re.findall(rf"[{cjk}]|[^\W_{cjk}]+", text.casefold()))


def f1(got: str, want: str) -> float:
    a, b = tokens(got), tokens(want)
    overlap = sum((a & b).values())
    return 0.0 if not overlap else 2 * overlap / (sum(a.values()) + sum(b.values()))


# -- NetEase templates, one rule at a time ------------------------------------------

POST2020 = """<!DOCTYPE html><html id="ne_wrap" data-publishtime="2025-11-14 07:16:49">
<head><meta charset="{charset}"><title>{title}_网易订阅</title></head><body>
<div class="post_main"><div class="post_crumb"><a href="/">网易首页</a> &gt; 正文</div>
<h1 class="post_title">{title}</h1>
<div class="post_info">2025-11-14 07:16:49　来源: <a href="/dy/media/T1.html">球叔教你买车</a>
<a class="post_jubao" href="#">举报</a></div>
<div class="post_content"><div class="post_top"><span>分享至</span></div>
<div class="post_body">
<p>第一段正文，讲述了一件值得记录的事情。</p>
<p class="f_center"><img src="/img/a.jpg"><br>图为现场。</p>
<div class="post_body_ad"><script>ad()</script></div>
<p>第二段正文<!--comment-->，继续讲述。</p>
<div class="some_new_widget" style="display: none"><h3>相关推荐</h3>
<ul><li>隐藏的推荐标题</li></ul></div>
<div style="DISPLAY:NONE">另一个隐藏块</div>
</div>
<div class="post_statement">特别声明：以上内容为自媒体平台“网易号”用户上传并发布</div>
</div></div></body></html>"""


def post2020(title: str = "测试标题", charset: str = "utf-8") -> str:
    return POST2020.format(title=title, charset=charset)


def test_post2020_dy_page_read_and_pruned() -> None:
    url = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"
    article = extract_article(post2020().encode(), url)
    assert article is not None
    assert article["template"] == "post2020" and article["profile"] == "netease"
    assert article["title"] == "测试标题"
    assert article["author"] == "球叔教你买车"
    assert article["publisher"] == "网易号"
    assert article["published_at"] == "2025-11-14T07:16:49+08:00"
    assert article["text"].split("\n") == [
        "第一段正文，讲述了一件值得记录的事情。",
        "图为现场。",
        "第二段正文，继续讲述。",
    ]
    assert article["images"] == [{"url": "https://www.163.com/img/a.jpg", "caption": "图为现场。"}]
    assert article["lang"] == "zh" and article["site"] == "163.com"


def test_hidden_display_none_copies_are_dropped() -> None:
    url = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"
    article = extract_article(post2020().encode(), url)
    assert article is not None
    for hidden in ("相关推荐", "隐藏的推荐标题", "另一个隐藏块", "特别声明", "分享至", "网易首页"):
        assert hidden not in article["text"]


def test_news_article_source_is_the_publisher() -> None:
    url = "https://www.163.com/news/article/KEJ7M1QV0001899O.html"
    article = extract_article(post2020().encode(), url)
    assert article is not None
    assert article["author"] is None
    assert article["publisher"] == "球叔教你买车"  # the 来源 of a news page is the outlet


def test_charset_lie_gb2312_declared_utf8_bytes() -> None:
    html = post2020(title="朱镕基谈“喆”字", charset="gb2312")
    url = "https://www.163.com/news/article/KEJ7M1QV0001899O.html"
    article = extract_article(html.encode("utf-8"), url, content_type="text/html; charset=gb2312")
    assert article is not None and article["title"] == "朱镕基谈“喆”字"


TABLE2004 = """<html><head><title>{title}_商业频道</title></head><body>
<table><tr><td><a href="http://www.163.com">网易首页</a>--&gt;<a href="#">商业</a></td></tr></table>
<table><tr><td><h1>{title}</h1></td></tr>
<tr><td class="graysl">2004-12-10 11:55:08 来源:<font>网易商业报道</font></td></tr></table>
<table><tr><td><span class="grayb"><P>　　第一段：气垫鞋并不能让人跳得更高，研究者这样说。</P>
<p><table align=right><tr><td><iframe src="http://ad.163.com/x"></iframe>广告</td></tr></table></p>
<P>　　第二段：镕、喆等字只在GBK里有。</P></span></td></tr></table>
<div>网友评论：我穿了十年气垫鞋了</div></body></html>"""


def test_gbk_2004_page_without_charset_declaration() -> None:
    html = TABLE2004.format(title="简单道理捅破“飞人”神话")
    url = "http://biz.163.com/41210/1/17867KR700020QBK.html"
    article = extract_article(html.encode("gbk"), url)  # no header, no <meta>
    assert article is not None
    assert article["template"] == "table2004"
    assert article["title"] == "简单道理捅破“飞人”神话"
    assert article["published_at"] == "2004-12-10T11:55:08+08:00"
    assert article["publisher"] == "网易商业报道"
    assert article["text"].split("\n") == [
        "第一段：气垫鞋并不能让人跳得更高，研究者这样说。",
        "第二段：镕、喆等字只在GBK里有。",
    ]


MOBILE = """<!DOCTYPE html><html data-publishtime="2025-11-13 18:42:05" lang="zh-CN"><head>
<meta charset="utf-8"><title>标题_网易新闻</title></head><body><main class="js-main">
<article class="js-article"><header><h1 class="article-title">标题</h1>
<section class="article-info"><span class="article-info-column">新华社</span></section></header>
<section class="article-body"><p>正文第一段。</p>
<figure class="m-photo"><div class="m-photo-wrap"><img src="data:image/gif;base64,R0lG"
 data-src="https://cms-bucket.ws.126.net/a.jpg"></div>
<div class="s-tip js-open-newsapp">打开网易新闻 查看精彩图片</div>
<figcaption>图片说明文字。</figcaption></figure>
<p>正文第二段。</p></section><footer>责任编辑：某人</footer></article>
<section class="recommend">相关推荐</section></main></body></html>"""


def test_mobile_drops_app_prompts_keeps_captions() -> None:
    url = "https://m.163.com/news/article/KEJ7M1QV0001899O.html"
    article = extract_article(MOBILE.encode(), url)
    assert article is not None and article["template"] == "mobile2025"
    assert article["text"] == "正文第一段。\n图片说明文字。\n正文第二段。"
    image = {"url": "https://cms-bucket.ws.126.net/a.jpg", "caption": "图片说明文字。"}
    assert article["images"] == [image]
    assert article["publisher"] == "新华社"
    assert article["canonical_url"] == "https://www.163.com/news/article/KEJ7M1QV0001899O.html"


DY2019 = """<html><head><meta charset="utf-8"><title>号文标题_网易订阅</title></head><body>
<div class="article_wrap"><div class="header">网易号</div>
<div class="article_title"><h2>号文标题</h2>
<p class="time">2019-03-05 10:11:12 · 某某科技号</p></div>
<div class="article_box"><div id="content" class="content"><p>网易号正文。</p></div></div>
<div class="statement">特别声明</div></div></body></html>"""


def test_wangyihao_2019() -> None:
    url = "https://dy.163.com/v2/article/detail/E9H7GJ4B0511B8LM.html"
    article = extract_article(DY2019.encode(), url)
    assert article is not None and article["template"] == "dy2019"
    assert article["title"] == "号文标题"
    assert (article["author"], article["publisher"]) == ("某某科技号", "网易号")
    assert article["published_at"] == "2019-03-05T10:11:12+08:00"
    assert article["canonical_url"] == "https://www.163.com/dy/article/E9H7GJ4B0511B8LM.html"


def test_pc2019_time_falls_back_to_the_url() -> None:
    html = """<html><head><meta charset="utf-8"></head><body><div id="epContentLeft">
    <h1>无时间的页面</h1><div class="post_body"><div id="endText"><p>正文。</p></div></div>
    </div></body></html>"""
    article = extract_article(html.encode(), "https://news.163.com/19/0907/13/EOFOC8MJ00258105.html")
    assert article is not None and article["published_at"] == "2019-09-07T13:00:00+08:00"


# -- canonical URLs and profile lookup ----------------------------------------------

DY = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"
NEWS = "https://www.163.com/news/article/KEJ7M1QV0001899O.html"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (DY, DY),
        ("http://www.163.com/dy/article/KEK0A3PK0527D7QO.html?f=post2020_dy_recommends#x", DY),
        ("https://m.163.com/dy/article/KEK0A3PK0527D7QO.html", DY),
        ("https://3g.163.com/dy/article/KEK0A3PK0527D7QO.html", DY),
        ("https://dy.163.com/v2/article/detail/KEK0A3PK0527D7QO.html", DY),
        ("http://127.0.0.1:8123/www.163.com/dy/article/KEK0A3PK0527D7QO.html", DY),
        (NEWS, NEWS),
        ("https://m.163.com/news/article/KEJ7M1QV0001899O.html", NEWS),
        ("https://3g.163.com/news/article/KEJ7M1QV0001899O.html", NEWS),
        ("https://c.m.163.com/news/a/KEJ7M1QV0001899O.html?spss=newsapp", NEWS),
        ("https://news.163.com/25/1113/18/KEJ7M1QV0001899O.html", NEWS),
        ("https://money.163.com/19/0907/13/KEJ7M1QV0001899O.html", NEWS),
        ("http://127.0.0.1:8123/news.163.com/25/1113/18/KEJ7M1QV0001899O.html", NEWS),
        # 2004-era URL forms without a DOCID keep their own (normalised) URL
        ("HTTP://News.163.com:80/2004w03/12419/2004w03_1078.html#top", "http://news.163.com/2004w03/12419/2004w03_1078.html"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_profile_lookup(tmp_path: Path) -> None:
    netease = PROFILES["netease"]
    assert profile_for("https://www.163.com/dy/article/KEK0A3PK0527D7QO.html") is netease
    assert profile_for("https://news.163.com/25/1113/10/KEIQ4R2B000189FH.html") is netease
    assert profile_for("https://not163.com/x.html") is None
    assert profile_for("https://news.sina.com.cn/c/2004-06-01/x.shtml") is PROFILES["sina"]
    assert profile_for("https://www.qq.com/") is None  # no profile for the portal's home host
    assert profile_for((tmp_path / "page.html").as_uri()) is None
    # an explicit name wins over the host: the sample site on 127.0.0.1
    assert profile_for("http://127.0.0.1:8123/www.163.com/x.html", "netease") is netease
    assert profile_for("http://127.0.0.1:8123/x.html") is None
    # no name: a mirror URL gets the profile of the host it mirrors
    assert profile_for("http://127.0.0.1:8123/www.163.com/x.html") is netease
    assert profile_for(DY, "generic") is None
    with pytest.raises(KeyError):
        profile_for(DY, "no-such-profile")


def test_title_from_the_title_tag_loses_the_site_suffix() -> None:
    html = post2020().replace('<h1 class="post_title">测试标题</h1>', "")
    article = extract_article(html.encode(), DY)
    assert article is not None and article["title"] == "测试标题"  # not "测试标题_网易订阅"


def test_local_mirror_url_with_named_profile() -> None:
    url = "http://127.0.0.1:8123/www.163.com/dy/article/KEK0A3PK0527D7QO.html"
    article = extract_article(post2020().encode(), url, profile="netease")
    assert article is not None
    assert article["url"] == url
    assert article["canonical_url"] == DY and article["site"] == "163.com"
    assert article["publisher"] == "网易号"  # the dy rule applies on the path


# -- pages without a template -------------------------------------------------------

GENERIC = """<html lang="en"><head><meta charset="utf-8"><title>A plain story</title>
<meta name="author" content="Jane Doe"></head><body><nav>Home | World | Sport</nav><article>
<h1>A plain story</h1><p>{p}</p><p>{p}</p></article><footer>Contact us</footer></body></html>"""
PROSE = "The council voted on Tuesday to rebuild the old bridge, ending years of debate in town."


def test_generic_page_uses_trafilatura() -> None:
    url = "http://127.0.0.1:8123/story.html"
    article = extract_article(GENERIC.format(p=PROSE).encode(), url)
    assert article is not None
    assert (article["profile"], article["template"]) == ("generic", None)
    assert article["title"] == "A plain story" and article["author"] == "Jane Doe"
    assert PROSE in article["text"] and "Contact us" not in article["text"]
    assert article["lang"] == "en" and article["site"] == "127.0.0.1"
    assert article["canonical_url"] == url


@pytest.mark.parametrize(
    ("declared", "canonical"),
    [
        ("https://news.example.com/2025/story.html", "https://news.example.com/2025/story.html"),
        ("/2025/story.html?utm_source=x", "http://127.0.0.1:8123/2025/story.html"),
        ("https://news.example.com/", "http://127.0.0.1:8123/mirror/story.html"),  # home page
    ],
)
def test_generic_canonical_is_the_declared_one(declared: str, canonical: str) -> None:
    html = GENERIC.format(p=PROSE).replace(
        "<head>", f'<head><link rel="canonical" href="{declared}">'
    )
    article = extract_article(html.encode(), "http://127.0.0.1:8123/mirror/story.html")
    assert article is not None and article["canonical_url"] == canonical


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8,  # a gzip body nobody decompressed
        b"<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body>",
        "<html><body><div class='error'><p>抱歉，该文章已删除。</p>"
        "<a href='/'>返回网易首页</a></div></body></html>".encode(),
        "<html><body><ul><li><a href='/a'>标题一</a></li>"
        "<li><a href='/b'>标题二</a></li></ul></body></html>".encode(),
        # a NetEase article template whose body is empty
        post2020().replace("<p", "<p style='display:none'").encode(),
    ],
)
def test_non_articles_give_none(body: bytes) -> None:
    assert extract_article(body, NEWS) is None
    assert extract_article(body, "https://example.org/x.html") is None


SITE_PAGES = sorted(p.parent for p in FIXTURES.glob("site/*/response.json"))


@pytest.mark.parametrize("case", SITE_PAGES, ids=[p.name for p in SITE_PAGES])
def test_site_pages_are_not_articles(case: Path) -> None:
    # listings, feeds, sitemaps, JSONP, robots.txt, the 404 page and the deleted-article
    # notice (a post2020 shell with no post_body): with their headers and without
    assert extract_fixture(case) is None
    assert extract_article((case / "page.html").read_bytes(), NEWS) is None


def test_never_raises_for_any_bytes() -> None:
    rng = random.Random(2004)
    for size in (1, 10, 100, 1000):
        for _ in range(20):
            body = bytes(rng.randrange(256) for _ in range(size))
            extract_article(body, NEWS)
            extract_article(body, "not a url at all")
    extract_article(b"<?xml version='1.0' encoding='gbk'?><html><body><p>x</p></body></html>", NEWS)
    extract_article(b"<html>\x00\x01<body>\x00</body></html>", NEWS)


def _extract_in_worker(body: bytes, url: str) -> object:
    return extract_article(body, url)


def test_runs_in_a_process_pool_and_pickles() -> None:
    body, url = post2020().encode(), DY
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(_extract_in_worker, body, url).result(timeout=120)
    local = extract_article(body, url)
    assert remote == local
    assert pickle.loads(pickle.dumps(local)) == local
