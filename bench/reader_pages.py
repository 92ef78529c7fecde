"""How long the reading pages take to render at a given archive size, beside datasette's
own articles table page on the same archive (the baseline, measured in the same run).

    python bench/reader_pages.py --articles 20000

Builds (once, cached in $TMPDIR/newsarchive-reader-N.db) an archive of N made-up articles
over 120 days and 3 sources, written straight into the tables (not through the writer:
the pages only read), its search index built by archive.fts.rebuild_index, then fetches
each page several times through datasette's in-process client and prints the median.
The machine may be loaded by others: compare a page with the baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from datasette.app import Datasette

from archive import open_archive
from archive.datasette_plugin import archive_metadata
from archive.fts import rebuild_index

SOURCES = ("netease-news", "netease-tech", "netease-dy")
WORDS = ("乌镇", "人工智能", "城市交通", "新能源汽车", "马拉松", "互联网")


def build(path: Path, count: int) -> None:
    db = open_archive(path)
    rows = []
    for n in range(count):
        day = f"2025-{7 + (n * 120 // count) // 30:02d}-{1 + (n * 120 // count) % 30:02d}"
        word = WORDS[n % len(WORDS)]
        url = f"https://www.163.com/news/article/BENCH{n:07d}.html"
        rows.append({
            "canonical_url": url, "url": url, "title": f"{word}新闻第{n}号",
            "published_at": f"{day}T{8 + n % 12:02d}:00:00+08:00", "source": SOURCES[n % 3],
            "text": "\n".join(f"第{p}段:关于{word}的报道,记者在现场采访了多位市民。"
                              for p in range(8)),
            "images": "[]", "site": "163.com", "first_seen_at": f"{day}T00:00:00+00:00",
            "fetched_at": f"{day}T00:00:00+00:00", "published_date_only": 0,
            "content_hash": f"{n:064d}", "status": "live", "version": 1, "revisits": 0})
    db["articles"].insert_all(rows, batch_size=1000)
    db["article_urls"].insert_all(({"url": r["url"], "article_id": i + 1,
                                    "first_seen_at": r["first_seen_at"]}
                                   for i, r in enumerate(rows)), batch_size=1000)
    rebuild_index(db)
    db.close()


async def measure(path: Path, urls: dict[str, str], repeat: int) -> dict[str, float]:
    datasette = Datasette([str(path)], metadata=archive_metadata())
    await datasette.invoke_startup()
    for url in urls.values():  # warm: jieba's dictionary, SQLite's page cache
        assert (await datasette.client.get(url)).status_code == 200, url
    times: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(repeat):
        for name, url in urls.items():  # interleaved, so load hits every page alike
            start = time.perf_counter()
            response = await datasette.client.get(url)
            times[name].append(time.perf_counter() - start)
            assert response.status_code == 200, url
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    path = Path(tempfile.gettempdir()) / f"newsarchive-reader-{args.articles}.db"
    if not path.exists():
        started = time.perf_counter()
        build(path, args.articles)
        print(f"built {path} in {time.perf_counter() - started:.0f} s")
    name = path.stem
    urls = {
        "baseline: /DB/articles (datasette's table page)": f"/{name}/articles",
        "home /": "/",
        "article /DB/articles/ID": f"/{name}/articles/{args.articles // 2}",
        "search /-/search?q=乌镇": "/-/search?q=乌镇",
        "trends /-/trends": "/-/trends",
        "trends /-/trends?q=乌镇": "/-/trends?q=乌镇",
    }
    results = asyncio.run(measure(path, urls, args.repeat))
    base = results[next(iter(urls))]
    print(f"{args.articles:,} articles, median of {args.repeat}, load average "
          f"{os.getloadavg()[0]:.1f} (others share this machine)")
    for label, ms in results.items():
        print(f"  {label:<50} {ms:8.1f} ms  x{ms / base:.2f}")


if __name__ == "__main__":
    main()
