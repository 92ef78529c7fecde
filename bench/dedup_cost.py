"""What storing one more article costs as the archive grows (dedup included).

    python bench/dedup_cost.py                 # sizes 1000 10000 100000
    python bench/dedup_cost.py --sizes 1000 5000 --json

Synthetic articles (Chinese dictionary words at random, ~1,500 characters, one in ten a
near-copy of an earlier one) are stored through ArchiveWriter.store, the crawl's own write
path: page, URL identity, content hash, LSH lookup and index, all in one transaction. The archive is
grown to each size, then the time per article is measured over the next `--measure`
articles. Fingerprints and the search index's segmented title and text are computed
beforehand, as the crawl computes them in its extraction workers, so the figure is the
archive's cost alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import open_archive  # noqa: E402
from archive.fts import segment  # noqa: E402
from archive.store import ArchiveWriter, FetchedPage  # noqa: E402
from pipelines.dedup import fingerprint  # noqa: E402


def _words() -> list[str]:
    """Words of jieba's own dictionary: text that segments like real Chinese (random
    characters would send every run through jieba's slow unknown-word model)."""
    import jieba

    with jieba.get_dict_file() as handle:
        return [line.decode("utf-8").split(" ", 1)[0] for line in handle][:60000:3]


WORDS = _words()


def synthetic_text(rng: random.Random) -> str:
    return "\n".join("".join(rng.choices(WORDS, k=rng.randint(25, 60))) + "。"
                     for _ in range(rng.randint(8, 14)))


def near_copy(text: str) -> str:
    lines = text.split("\n")
    return "（原标题：转载）\n" + "\n".join(lines[:-1])


def article(n: int, text: str) -> tuple[FetchedPage, dict]:
    url = f"https://bench.test/{n:08d}.html"
    page = FetchedPage(url=url, final_url=url, status=200,
                       headers={"Content-Type": "text/html"},
                       body=f"<html><body>{text}</body></html>".encode(),
                       fetched_at="2025-11-14T00:00:00+00:00")
    return page, {"url": url, "canonical_url": url, "title": text[:20], "author": None,
                  "publisher": None, "published_at": None, "text": text, "images": [],
                  "lang": "zh", "site": "bench.test", "profile": "generic", "template": None}


def _derive(text: str) -> tuple:
    """What the crawl's extraction workers compute for a text (here in a pool, to grow the
    archive faster; it is not part of what is measured)."""
    return fingerprint(text), (segment(text[:20]), segment(text))


def make_items(rng: random.Random, start: int, count: int, history: list[str]) -> list:
    texts = []
    for _ in range(count):
        copy = history and rng.random() < 0.1
        text = near_copy(rng.choice(history)) if copy else synthetic_text(rng)
        history.append(text)
        if len(history) > 500:
            history.pop(0)
        texts.append(text)
    with multiprocessing.get_context("fork").Pool() as pool:
        derived = pool.map(_derive, texts, chunksize=50)
    return [(*article(n, text), print_, words)
            for n, text, (print_, words) in zip(range(start, start + count), texts, derived,
                                                strict=True)]


def run(sizes: list[int], measure: int) -> list[dict]:
    rng = random.Random(42)
    history: list[str] = []
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        writer = ArchiveWriter(open_archive(Path(tmp) / "bench.db"))
        stored = 0
        for size in sizes:
            while stored < size:  # grow, in batches, to the size
                batch = min(5000, size - stored)
                for page, art, print_, words in make_items(rng, stored, batch, history):
                    writer.store(None, "bench", page, art, fingerprint=print_,
                                 segmented=words)
                stored += batch
            items = make_items(rng, stored, measure, history)
            started = time.process_time()
            outcomes: dict[str, int] = {}
            for page, art, print_, words in items:
                outcome = writer.store(None, "bench", page, art, fingerprint=print_,
                                       segmented=words)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            elapsed = time.process_time() - started
            stored += measure
            db_bytes = (Path(tmp) / "bench.db").stat().st_size
            results.append({"archived": size, "ms_per_article": round(1000 * elapsed / measure, 3),
                            "outcomes": outcomes, "db_mb": round(db_bytes / 2**20, 1)})
            print(f"{size:>8} archived: {results[-1]['ms_per_article']:.3f} ms per article "
                  f"stored ({outcomes})", flush=True)
    base = results[0]["ms_per_article"]
    for row in results:
        row["ratio_to_first"] = round(row["ms_per_article"] / base, 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--measure", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.sizes, args.measure)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"{'archived':>10} {'ms/article':>11} {'x first':>8} {'db MB':>7}")
        for row in results:
            print(f"{row['archived']:>10} {row['ms_per_article']:>11.3f} "
                  f"{row['ratio_to_first']:>8.2f} {row['db_mb']:>7.1f}")


if __name__ == "__main__":
    main()
