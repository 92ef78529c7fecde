"""Small archives for the browse, search and export tests, written through ArchiveWriter.store.

The reference article is the 网易号 page of tests/fixtures/netease/dy-post2020-reference,
as its truth.json has it; the others are short made-up articles chosen so that each search
term finds a known set: 乌镇 only the reference, 桐乡 the reference and the marathon,
Tesla / Gigafactory only the English-titled one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from archive import open_archive
from archive.store import ArchiveWriter, FetchedPage
from pipelines.dedup import fingerprint
from pipelines.types import Article

REFERENCE_DIR = Path(__file__).parent / "fixtures" / "netease" / "dy-post2020-reference"
REFERENCE_TITLE = "十年蝶变,桐乡以智能网联汽车为引擎打造“国际互联网小镇”样板"


def reference_article() -> Article:
    truth = json.loads((REFERENCE_DIR / "truth.json").read_text("utf-8"))
    url = json.loads((REFERENCE_DIR / "response.json").read_text("utf-8"))["url"]
    return _article(url, truth["title"], truth["text"], truth["published_at"],
                    author=truth["author"], publisher=truth["publisher"])


def extracted_reference() -> tuple[Article, FetchedPage]:
    """The reference article as extraction makes it from the fixture page, with the page."""
    from pipelines.extract import extract_article

    response = json.loads((REFERENCE_DIR / "response.json").read_text("utf-8"))
    body = (REFERENCE_DIR / "page.html").read_bytes()
    article = extract_article(body, response["url"],
                              content_type=response["headers"]["Content-Type"],
                              fetched_at=response["fetched_at"])
    assert article is not None
    page = FetchedPage(url=response["url"], final_url=response["url"], status=200,
                       headers=response["headers"], body=body,
                       fetched_at=response["fetched_at"])
    return article, page


def _article(url: str, title: str | None, text: str, published_at: str | None, *,
             author: str | None = None, publisher: str | None = "网易新闻",
             images: list | None = None) -> Article:
    return Article(url=url, canonical_url=url, title=title, author=author,
                   publisher=publisher, published_at=published_at, text=text,
                   images=images or [], lang="zh", site="163.com", profile="netease",
                   template="post2020")


def other_articles() -> dict[str, tuple[str, Article]]:
    """name -> (source, article)."""
    return {
        "tesla": ("netease-tech", _article(
            "https://www.163.com/tech/article/TESLA0001.html",
            "Tesla 上海超级工厂扩产,Gigafactory 年产能再提升",
            "特斯拉(Tesla)宣布上海超级工厂扩产。\n新的 Gigafactory 产线预计明年投产,"
            "年产能将提升至百万辆。\n分析人士认为,电动汽车市场竞争更加激烈。",
            "2025-11-15T09:30:00+08:00", author="科技频道", publisher="网易科技",
            images=[{"url": "https://nimg.ws.126.net/tesla.jpg", "caption": "上海工厂"}])),
        "marathon": ("netease-news", _article(
            "https://www.163.com/news/article/MARATHON01.html",
            "桐乡马拉松鸣枪开跑,两万名跑者参赛",
            "11月16日清晨,桐乡马拉松在市民广场鸣枪开跑。\n来自全国各地的两万名跑者参加了比赛,"
            "赛道穿过城区和田园。",
            # 06:00 Beijing time is the previous day in UTC: the day facet must say 11-16.
            "2025-11-16T06:00:00+08:00", author="记者 王芳", publisher="嘉兴日报")),
        "undated": ("netease-news", _article(
            "https://www.163.com/news/article/UNDATED001.html",
            "人工智能大会闭幕",
            "为期三天的人工智能大会今天闭幕,与会者讨论了大模型与算力。",
            None, publisher=None)),
    }


def near_copy() -> Article:
    """A repost of the reference story: 原标题 line added, last paragraphs cut."""
    article = reference_article()
    paragraphs = article["text"].splitlines()
    url = "https://www.163.com/dy/article/REPOST0001.html"
    return {**article, "url": url, "canonical_url": url, "title": "桐乡:十年蝶变",
            "author": "嘉兴发布", "published_at": "2025-11-14T10:00:00+08:00",
            "text": "\n".join(["原标题:" + article["title"], *paragraphs[:-3]])}


def build_archive(path: Path, *, extra: dict[str, tuple[str, Article]] | None = None,
                  extracted: bool = False) -> dict[str, int]:
    """An archive at `path` holding the reference article and the others; name -> article id.

    `extracted`: the reference article as extracted from its fixture page, the page stored
    as fetched (else its truth, with a stand-in page)."""
    db = open_archive(path)
    writer = ArchiveWriter(db)
    articles = {"reference": ("netease-dy", reference_article()), **other_articles(),
                **(extra or {})}
    runs: dict[str, int] = {}
    ids: dict[str, int] = {}
    for name, (source, article) in articles.items():
        if source not in runs:
            runs[source] = writer.start_run(source)
        run_id = runs[source]
        page = FetchedPage(url=article["url"], final_url=article["url"], status=200,
                           headers={"Content-Type": "text/html; charset=utf-8"},
                           body=f"<html><title>{article['title']}</title></html>".encode(),
                           fetched_at="2025-11-16T10:00:00+00:00")
        if extracted and name == "reference":
            article, page = extracted_reference()
        # Fingerprinted as the crawl does, so near copies get duplicate_of.
        outcome = writer.store(run_id, source, page, article,
                               fingerprint=fingerprint(article["text"]))
        assert outcome in ("new", "near-duplicate"), (name, outcome)
        ids[name] = db.execute("select article_id from article_urls where url = ?",
                               [article["url"]]).fetchone()[0]
    news_run = runs.get("netease-news")
    if news_run is not None:
        writer.record_failure(news_run, "https://www.163.com/news/article/GONE000001.html",
                              "HTTP 404", 404)
    for run_id in runs.values():
        writer.finish_run(run_id, "finished", "finished")
    db.close()
    return ids


HISTORY_DAYS = 14
HISTORY_SOURCES = ("netease-news", "netease-tech", "netease-dy")
# The day (index) from which netease-tech's template "stops matching": generic fallback.
TEMPLATE_CHANGE = 9


def add_history(path: Path) -> None:
    """Two weeks of daily runs after build_archive's (2025-11-17 to 11-30), one per source
    and day, each storing a few made-up articles; 人工智能 is mentioned more and more often;
    from day TEMPLATE_CHANGE on, netease-tech's pages fall back to generic extraction with
    short bodies, as when a site changes its markup. Runs are dated as their pages (the
    writer stamps them with the time they were written)."""
    db = open_archive(path)
    db.execute("update crawl_runs set started_at = (select min(fetched_at) from pages "
                "where run_id = crawl_runs.id), finished_at = (select max(fetched_at) "
                "from pages where run_id = crawl_runs.id)")
    writer = ArchiveWriter(db)
    for day in range(HISTORY_DAYS):
        date = f"2025-11-{day + 17:02d}"
        for index, source in enumerate(HISTORY_SOURCES):
            run_id = writer.start_run(source)
            broken = source == "netease-tech" and day >= TEMPLATE_CHANGE
            for n in range(1 + (day + index) % 4):
                topic = "人工智能" if n < day // 4 else "城市交通"
                text = "\n".join(f"{date} {source} 第{n + 1}篇,第{p + 1}段:今天的话题是{topic},"
                                  f"记者在现场看到了许多新的变化,市民纷纷表示关注。"
                                  for p in range(1 if broken else 6))
                url = f"https://www.163.com/news/article/H{day:02d}{index}{n}HISTORY.html"
                article = {**_article(url, f"{date} {topic}观察({source} {n + 1})", text,
                                      f"{date}T{8 + n:02d}:00:00+08:00", author="记者"),
                           "template": None if broken else "post2020"}
                page = FetchedPage(url=url, final_url=url, status=200,
                                   headers={"Content-Type": "text/html; charset=utf-8"},
                                   body=b"<html></html>", fetched_at=f"{date}T02:00:00+00:00")
                assert writer.store(run_id, source, page, article) == "new"
            if source == "netease-news" and day % 5 == 4:
                writer.record_failure(run_id, f"https://www.163.com/news/article/X{day}.html",
                                      "HTTP 404", 404)
            writer.finish_run(run_id, "finished", "finished")
            db.execute("update crawl_runs set started_at = ?, finished_at = ? where id = ?",
                       [f"{date}T0{index}:00:00+00:00", f"{date}T0{index}:05:00+00:00", run_id])
    db.conn.commit()
    db.close()


def revise_marathon(path: Path) -> None:
    """A revisit that finds the marathon story edited: title, one paragraph changed, one
    added (a row in article_versions)."""
    db = open_archive(path)
    source, article = other_articles()["marathon"]
    edited = {**article, "title": article["title"] + "(更新)",
              "text": article["text"].replace("两万名", "两万五千名") + "\n比赛结果将于明日公布。"}
    page = FetchedPage(url=article["url"], final_url=article["url"], status=200, headers={},
                       body=b"<html></html>", fetched_at="2025-11-16T12:00:00+00:00")
    assert ArchiveWriter(db).store(None, source, page, edited, revisit=True) == "revised"
    db.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`newsarchive serve` on `path` as a child process (with `env` added to the
    environment); yields its base URL."""
    port = free_port()
    command = [sys.executable, "-c", "from newsarchive.cli import main; main()",
               "serve", "--db", str(path), "--port", str(port), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"newsarchive serve exited: {process.communicate()}")
            try:
                # Any answer: with authentication on, it is 403 Forbidden.
                if httpx.get(f"{base}/-/versions.json", timeout=2).status_code in (200, 403):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("newsarchive serve did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
