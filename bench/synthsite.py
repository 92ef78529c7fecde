"""A synthetic NetEase-like site for the benchmarks: N article pages plus listing pages.

    python bench/synthsite.py build DIR --pages 2000     # write the site into DIR
    python bench/synthsite.py serve DIR [--port 0]       # serve DIR on 127.0.0.1

Each article page is the post2020 reference fixture
(tests/fixtures/netease/dy-post2020-reference/page.html) with its own DOCID, title,
account, publish time and body text, and the padding real NetEase article pages carry
around the article, which is what makes them ~275 KB on average where the fixture is
76 KB:

- the site-wide parts, the same bytes on every page: inline CSS, inline script
  "libraries" (ad slots, nav, statistics), the nav bar the fixture already has;
- the per-page parts: a JSON blob of the page's recommendation data in a <script>, and
  longer 相关推荐 / 热点推荐 lists (DOM: <li> with image, title link, account, time),
  three quarters of their entries the site's current hot items (shared by pages
  published around the same time), the rest the page's own;
- the body: 6-40 paragraphs of Chinese text, words drawn from jieba's dictionary by
  frequency (so every text is different, near-duplicate detection finds none, and jieba
  segments real words), images between paragraphs as NetEase puts them.

Page sizes are drawn between 100 and 300 KB, skewed high (mean ~270 KB). Everything is
deterministic from the page number, so two builds are the same site.

Listing pages (/news.163.com/bench/, index_02.html, ...) link 100 articles each and the
next page with 下一页, as NetEase channel pages do; robots.txt allows everything;
urls.txt lists the article URLs (for trafilatura's CLI); seeds/bench.toml is the source.

The server is a stdlib ThreadingHTTPServer answering from files read once into memory
(or from the page cache for sites larger than --memory-mb): no rendering per request.
It is meant to run as its own process, so its CPU time can be read from /proc.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests/fixtures/netease/dy-post2020-reference/page.html"
REF_DOCID = "KEK0A3PK0527D7QO"
REF_TITLE = "十年蝶变,桐乡以智能网联汽车为引擎打造“国际互联网小镇”样板"
REF_ACCOUNT = "球叔教你买车"
REF_TIME = "2025-11-14 07:16:49"
REF_ISO = "2025-11-14T07:16:49+08:00"
PER_LISTING = 100
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ARTICLE_PATH = "/www.163.com/dy/article/{docid}.html"
LISTING_PATH = "/news.163.com/bench/"


# -- words -----------------------------------------------------------------------------


class Words:
    """Chinese words by frequency (jieba's dictionary), for text that segments like news."""

    def __init__(self) -> None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.dt.initialize()
        # The 40,000 most frequent words: a newspaper's vocabulary, not the dictionary's
        # rarest entries.
        common = sorted(((f, w) for w, f in jieba.dt.FREQ.items() if f > 0 and len(w) <= 4),
                        reverse=True)[:40_000]
        self.words = [w for _, w in common]
        self.cum = list(itertools.accumulate(f for f, _ in common))

    def pick(self, rng: random.Random, k: int) -> list[str]:
        total = self.cum[-1]
        return [self.words[bisect.bisect(self.cum, rng.random() * total)] for _ in range(k)]

    def sentence(self, rng: random.Random, lo: int = 6, hi: int = 24) -> str:
        words = self.pick(rng, rng.randint(lo, hi))
        for i in range(2, len(words) - 2, rng.randint(4, 9)):
            words[i] += "，"
        return "".join(words) + rng.choice("。。。。！？")

    def phrase(self, rng: random.Random, lo: int = 4, hi: int = 10) -> str:
        return "".join(self.pick(rng, rng.randint(lo, hi)))


def docid(n: int) -> str:
    """A 16-character NetEase-like DOCID, unique per page number."""
    rng = random.Random(n * 7919 + 17)
    return "B" + f"{n:07d}" + "".join(rng.choices(ALNUM, k=8))


def _hex(rng: random.Random, k: int) -> str:
    return "".join(rng.choices("0123456789abcdef", k=k))


def _image_url(rng: random.Random) -> str:
    return ("https://nimg.ws.126.net/?url=http%3A%2F%2Fdingyue.ws.126.net%2F2025%2F1114%2F"
            f"{_hex(rng, 8)}j00{''.join(rng.choices(ALNUM.lower(), k=20))}.jpg"
            "&amp;thumbnail=660x2147483647&amp;quality=80&amp;type=jpg")


# -- the site-wide padding ----------------------------------------------------------------


JS_WORDS = (
    "function", "var", "return", "if", "else", "for", "while", "this", "window", "document",
    "length", "push", "prototype", "call", "apply", "null", "undefined", "typeof", "object",
    "string", "true", "false", "new", "slot", "container", "async", "config", "id", "data",
    "el", "style", "display", "none", "block", "setTimeout", "addEventListener",
    "querySelector", "getAttribute", "className", "innerHTML", "src", "href", "ntes", "log",
    "track", "ad", "nav", "tab", "mod", "current", "index", "item", "list",
)


def _pseudo_js(rng: random.Random, size: int) -> str:
    """Minified-looking JS of about `size` characters (the ad, nav and log libraries)."""
    out: list[str] = []
    length = 0
    while length < size:
        name = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(1, 3)))
        body = ";".join(
            f"{rng.choice(JS_WORDS)}.{rng.choice(JS_WORDS)}"
            f"({name},{rng.randint(0, 999)},\"{rng.choice(JS_WORDS)}\")"
            for _ in range(rng.randint(2, 8)))
        piece = (f"{name}=function({','.join(rng.sample('etnrioa', 3))})"
                 f"{{if({name}&&{rng.choice(JS_WORDS)}){{{body}}}"
                 f"return {rng.choice(JS_WORDS)}}};")
        out.append(piece)
        length += len(piece)
    return "".join(out)


def _pseudo_css(rng: random.Random, size: int) -> str:
    props = ("display:block", "display:none", "float:left", "margin:0 auto", "padding:0 8px",
             "font-size:14px", "line-height:26px", "color:#333", "color:#999",
             "background:#f5f5f5", "border:1px solid #ddd", "overflow:hidden",
             "position:relative", "width:300px", "height:32px", "text-align:center")
    out: list[str] = []
    length = 0
    while length < size:
        selector = ".".join(rng.choices(("ntes", "nav", "post", "side", "mod", "tab", "list",
                                         "item", "title", "img", "info", "hot", "rank"),
                                        k=rng.randint(2, 4)))
        rule = f".{selector}{{{';'.join(rng.sample(props, rng.randint(2, 6)))}}}"
        out.append(rule)
        length += len(rule)
    return "\n".join(out)


def site_padding() -> tuple[str, str]:
    """(inline CSS for <head>, inline scripts for the end of <body>): the same on every
    page, as a site's shared inline code is."""
    rng = random.Random(2025)
    css = f"<style>\n{_pseudo_css(rng, 14_000)}\n</style>\n"
    scripts = "".join(f"<script>{_pseudo_js(rng, size)}</script>\n"
                      for size in (14_000, 11_000, 8_000))
    return css, scripts


# -- pages -------------------------------------------------------------------------------


def _pool_rng(rng: random.Random, n: int) -> random.Random:
    """Most list entries are the site's current hot items, shared by the pages published
    around the same time (a pool that drifts with the page number); the rest are the
    page's own related items."""
    if rng.random() < 0.75:
        return random.Random(1_000_003 + n // 20 + rng.randint(0, 300))
    return rng


def _recommend_item(rng: random.Random, words: Words, seo: bool = False) -> str:
    other = docid(rng.randint(10**7, 10**8))
    url = f"https://www.163.com/dy/article/{other}.html"
    cls = "post_recommend post_recommend_seo" if seo else "post_recommend"
    return f"""
                <li class="{cls}">
                    <a class="post_recommend_img" href="{url}"><img src="{_image_url(rng)}" alt=""></a>
                    <div class="post_recommend_info">
                        <h3 class="post_recommend_title"><a href="{url}">{words.phrase(rng)}</a></h3>
                        <p class="post_recommend_source">
                            <a class="post_recommend_name" href="https://www.163.com/dy/media/T{rng.randint(10**12, 10**13)}.html">{words.phrase(rng, 1, 3)}</a>
                            <span class="post_recommend_time">2025-11-{rng.randint(10, 14)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}</span>
                        </p>
                    </div>
                </li>"""  # noqa: E501


def _body(rng: random.Random, words: Words) -> tuple[str, str]:
    """(post_body paragraphs HTML, first paragraph text)."""
    paragraphs: list[str] = []
    first = ""
    for i in range(rng.randint(6, 40)):
        if i and rng.random() < 0.12:
            paragraphs.append(f'<p class="f_center"><img src="{_image_url(rng)}" '
                              'style="margin: 0px auto; display: block;"><br></p>')
        text = "".join(words.sentence(rng) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.08:
            text = f"<strong>{words.phrase(rng)}</strong>"
        first = first or text
        pid = "".join(rng.choices(ALNUM, k=8))
        paragraphs.append(f'<p id="{pid}">{text}</p>')
    return "\n                ".join(paragraphs), first


def _data_script(rng: random.Random, words: Words, size: int, n: int) -> str:
    """The page's recommendation data as NetEase inlines it, ~`size` characters."""
    items = []
    length = 0
    while length < size:
        r = _pool_rng(rng, n)
        item = {"docid": docid(r.randint(10**7, 10**8)), "title": words.phrase(r),
                "imgsrc": _image_url(r).replace("&amp;", "&"),
                "source": words.phrase(r, 1, 3),
                "ptime": f"2025-11-{r.randint(10, 14)} {r.randint(0, 23):02d}:00:00",
                "tcount": r.randint(0, 9999)}
        text = json.dumps(item, ensure_ascii=False)
        items.append(text)
        length += len(text.encode()) + 1
    return "<script>window.__POST_DATA__ = {\"hot\": [" + ",".join(items) + "]};</script>\n"


class PageMaker:
    def __init__(self) -> None:
        self.words = Words()
        template = REFERENCE.read_text("utf-8")
        css, scripts = site_padding()
        template = template.replace("</head>", css + "</head>", 1)
        template = template.replace("</body>", "{DATA}" + scripts + "</body>", 1)
        start = template.index('<div class="post_body">') + len('<div class="post_body">')
        hidden = template.index('<div class="post_body_recommend"', start)
        self.head, self.tail = template[:start], template[hidden:]
        self.fixed_size = len((self.head + self.tail).encode())

    def article(self, n: int) -> tuple[str, bytes]:
        """(path, page bytes) of article n."""
        rng = random.Random(n)
        words = self.words
        doc = docid(n)
        title = words.phrase(rng, 5, 12)
        account = words.phrase(rng, 1, 3)
        minute = 24 * 60 * 30 - n  # one a minute, going back from 2025-11-30
        day, rest = divmod(minute, 24 * 60)
        when = f"2025-11-{day:02d} {rest // 60:02d}:{rest % 60:02d}:{rng.randint(0, 59):02d}"
        iso = when.replace(" ", "T") + "+08:00"
        body, first = _body(rng, words)
        target = int(100_000 + 200_000 * rng.betavariate(6, 1))
        page = self.head + "\n                " + body + "\n                " + self.tail
        # The visible 相关推荐 list gets longer; the hidden SEO copy stays as it is.
        marker = '<ul class="post_recommends_list">'
        at = page.rindex(marker) + len(marker)
        items = []
        budget = target - self.fixed_size - len(body.encode())
        data_size = min(budget // 5, 20_000)  # the page's data; the rest is DOM lists
        budget -= data_size
        while budget > 0:
            item = _recommend_item(_pool_rng(rng, n), words)
            items.append(item)
            budget -= len(item.encode())
        page = page[:at] + "".join(items) + page[at:]
        page = page.replace("{DATA}", _data_script(rng, words, max(data_size, 2000), n))
        page = (page.replace(REF_DOCID, doc).replace(REF_TITLE, title)
                .replace(REF_ACCOUNT, account).replace(REF_TIME, when).replace(REF_ISO, iso))
        page = page.replace("11月6日上午,2025“国际互联网小镇”发布活动暨乌镇互联网文化集聚区启动"
                            "仪式在桐乡乌镇云舟宾客中心水天阁隆重举行。", first[:120])
        return ARTICLE_PATH.format(docid=doc), page.encode("utf-8")


def listing_page(number: int, total_pages: int, docids: list[str]) -> tuple[str, bytes]:
    name = "" if number == 1 else f"index_{number:02d}.html"
    links = "\n".join(f'<li><a href="{ARTICLE_PATH.format(docid=d)}">{d}</a></li>'
                      for d in docids)
    nxt = (f'<a class="next" href="{LISTING_PATH}index_{number + 1:02d}.html">下一页</a>'
           if number < total_pages else "")
    html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>国内新闻_第{number}页'
            f'</title></head><body><ul class="news_list">\n{links}\n</ul>'
            f'<div class="pages">{nxt}</div></body></html>')
    return LISTING_PATH + name, html.encode("utf-8")


SEEDS = """[[source]]
name = "bench"
start_urls = ["{base}/news.163.com/bench/"]
allow = ['/www\\.163\\.com/dy/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
max_listing_pages = {depth}
"""


def build(directory: Path, pages: int, progress: bool = True) -> dict:
    """Write the site into `directory` (files named by URL path); return its summary."""
    directory.mkdir(parents=True, exist_ok=True)
    summary_file = directory / "site.json"
    if summary_file.exists():
        summary = json.loads(summary_file.read_text())
        if summary["pages"] == pages:
            return summary
    maker = PageMaker()
    files = directory / "files"
    sizes = []
    docids = []
    for n in range(pages):
        path, data = maker.article(n)
        target = files / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        sizes.append(len(data))
        docids.append(docid(n))
        if progress and n % 500 == 499:
            print(f"  built {n + 1}/{pages} pages", file=sys.stderr, flush=True)
    total_listings = (pages + PER_LISTING - 1) // PER_LISTING
    for number in range(1, total_listings + 1):
        chunk = docids[(number - 1) * PER_LISTING: number * PER_LISTING]
        path, data = listing_page(number, total_listings, chunk)
        target = files / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (files / "robots.txt").write_bytes(b"User-agent: *\nAllow: /\n")
    summary = {"pages": pages, "listings": total_listings, "bytes": sum(sizes),
               "mean_kb": round(sum(sizes) / pages / 1024, 1),
               "min_kb": round(min(sizes) / 1024, 1), "max_kb": round(max(sizes) / 1024, 1),
               "docids": docids}
    summary_file.write_text(json.dumps(summary))
    return summary


def article_files(directory: Path, docids: list[str]) -> list[tuple[str, Path]]:
    """(path, file) of each article page, in page order."""
    return [(ARTICLE_PATH.format(docid=d), directory / "files" / ARTICLE_PATH.format(
        docid=d).lstrip("/")) for d in docids]


def write_inputs(directory: Path, summary: dict, base_url: str) -> tuple[Path, Path]:
    """urls.txt (article URLs, for trafilatura's CLI) and seeds/bench.toml for `base_url`."""
    urls = directory / "urls.txt"
    urls.write_text("".join(base_url + ARTICLE_PATH.format(docid=d) + "\n"
                            for d in summary["docids"]))
    seeds = directory / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / "bench.toml").write_text(SEEDS.format(base=base_url,
                                                   depth=summary["listings"] + 1))
    return urls, seeds


# -- the server ----------------------------------------------------------------------------


def serve(directory: Path, port: int = 0, memory_mb: int = 3000) -> None:
    files = directory / "files"
    cache: dict[str, bytes] = {}
    total = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
    if total <= memory_mb * 2**20:
        for p in files.rglob("*"):
            if p.is_file():
                cache["/" + str(p.relative_to(files))] = p.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path.endswith("/"):
                path += "index.html"
            data = cache.get(path)
            if data is None and not cache:
                target = files / path.lstrip("/")
                if ".." not in path and target.is_file():
                    data = target.read_bytes()
            if data is None:
                self._send(404, "text/html; charset=utf-8", b"<html><body>404</body></html>")
                return
            kind = "text/plain" if path.endswith(".txt") else "text/html; charset=utf-8"
            self._send(200, kind, data)

        def _send(self, status: int, kind: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server(("127.0.0.1", port), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("dir", type=Path)
    b.add_argument("--pages", type=int, default=2000)
    s = sub.add_parser("serve")
    s.add_argument("dir", type=Path)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--memory-mb", type=int, default=3000)
    args = parser.parse_args()
    if args.command == "build":
        summary = build(args.dir, args.pages)
        print(json.dumps({k: v for k, v in summary.items() if k != "docids"}))
    else:
        os.nice(0)
        serve(args.dir, args.port, args.memory_mb)


if __name__ == "__main__":
    main()
