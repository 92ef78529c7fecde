"""What watchlists cost where the crawl stores: the search fold (OpenCC + NFKC) in
segmentation, and matching a stored article against N watches, each beside its baseline
measured in the same run, alternately, so that a loaded machine weighs on both alike.

    python bench/watch_cost.py                # 300 articles, 0 / 10 / 50 watches
    python bench/watch_cost.py --articles 1000

Prints ms per article: segment() with and without the fold (the crawl's workers do
this), and ArchiveWriter.store() with 0 watches against 10 and 50 (the crawl's writer).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import archive.fts  # noqa: E402
from archive import open_archive  # noqa: E402
from archive.store import ArchiveWriter  # noqa: E402
from archive.watches import WatchRow, sync_watches  # noqa: E402
from conftest import make_article, make_page  # noqa: E402

QUERIES = ["乌镇", "龙湖集团 OR \"龙湖地产\" -招聘", "智能网联汽车", "桐乡 马拉松", "Tesla",
           "人工智能 OR 大模型", "供暖 -江豚", "流感", "国际互联网小镇", "ＡＩ"]


def texts() -> list[str]:
    found = [json.loads(p.read_text("utf-8"))["text"]
             for p in sorted((ROOT / "tests" / "fixtures").glob("*/*/truth.json"))]
    return [t for t in found if t]


def time_segment(samples: list[str], fold: bool) -> float:
    original = archive.fts.fold
    if not fold:
        archive.fts.fold = lambda text: text
    try:
        start = time.perf_counter()
        for text in samples:
            archive.fts.segment(text)
        return (time.perf_counter() - start) * 1000 / len(samples)
    finally:
        archive.fts.fold = original


def time_store(samples: list[str], watches: int, workdir: Path) -> float:
    db = open_archive(workdir / f"w{watches}-{time.monotonic_ns()}.db")
    sync_watches(db, [WatchRow(f"w{i}", QUERIES[i % len(QUERIES)]) for i in range(watches)])
    writer = ArchiveWriter(db)
    articles = [make_article(f"https://x.test/{n}", text=f"{n}\n{text}")
                for n, text in enumerate(samples)]
    # Segmented beforehand, as the crawl's workers do: the store's own cost alone.
    segmented = [(archive.fts.segment(a["title"]), archive.fts.segment(a["text"]))
                 for a in articles]
    start = time.perf_counter()
    for article, seg in zip(articles, segmented, strict=True):
        writer.store(None, "s", make_page(article["url"]), article, segmented=seg)
    elapsed = (time.perf_counter() - start) * 1000 / len(samples)
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = texts()
    samples = (base * (args.articles // len(base) + 1))[:args.articles]
    archive.fts.tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        seg: dict[bool, list[float]] = {True: [], False: []}
        store: dict[int, list[float]] = {0: [], 10: [], 50: []}
        for _ in range(args.rounds):  # alternately: load weighs on both alike
            for fold in (False, True):
                seg[fold].append(time_segment(samples, fold))
            for watches in store:
                store[watches].append(time_store(samples, watches, Path(tmp)))
    med = {k: statistics.median(v) for k, v in seg.items()}
    print(f"segment(), ms per article ({len(samples)} articles, median of {args.rounds}):")
    print(f"  without fold {med[False]:.2f}   with fold {med[True]:.2f}   "
          f"x{med[True] / med[False]:.2f}")
    smed = {k: statistics.median(v) for k, v in store.items()}
    print("ArchiveWriter.store() (segmented beforehand, no fingerprint), ms per article:")
    for watches, value in smed.items():
        print(f"  {watches:>2} watches {value:.2f}   x{value / smed[0]:.2f}")
    print("(a shared machine: figures beside their baseline of the same run)")


if __name__ == "__main__":
    main()
