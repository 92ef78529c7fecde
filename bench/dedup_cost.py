"""What storing one more article costs as the archive grows (dedup included).

    python bench/dedup_cost.py                 # sizes 1000 10000 100000 (~12 min here)
    python bench/dedup_cost.py --sizes 1000 5000 --json

Synthetic articles (Chinese dictionary words at random, ~1,500 characters, one in ten a
near-copy of an earlier one) are stored through ArchiveWriter.store, the crawl's own write
path: page, URL identity, content hash, LSH lookup and index, search index, all in one
transaction. Fingerprints and the search index's segmented title and text are computed
beforehand, as the crawl computes them in its extraction workers, so the figure is the
archive's cost alone (CPU time of this process: user and system, so page reads and WAL
writes count).

The archive is grown to each size. Then, in each round, a fresh copy of it is warmed up
with 50 articles and the time per article is measured on the next 200 stored into the
copy (the same ones each round: the archive stays at its size, and every round does the
same work), the WAL checkpointed inside the timing. The near-duplicate index folds its
newest keys from level to level (archive/neardup.py): a size's rounds start at states of
the index 200 articles apart over its longest fold cycle (fold_cycle), so that the
rounds store, among them, the articles that fold each level as often as a crawl does,
and the mean over them is the cost per article with the folds' share in it.

Each round is measured alternately with the same measure (200 articles) on a copy of a
reference archive of 1,000 articles, which has never folded. The machine is shared:
what other processes do moves CPU time per article by 10-30% between rounds, but it
moves both measures of a round alike, so the cost at each size is given as a ratio to
the reference measured beside it (mean over mean). At 1,000 both are archives of about
that size (of other articles): the ratio there shows what is left of the noise.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlite_utils  # noqa: E402

from archive import open_archive  # noqa: E402
from archive.fts import segment  # noqa: E402
from archive.neardup import LEVELS, fold, index_tables  # noqa: E402
from archive.store import ArchiveWriter, FetchedPage  # noqa: E402
from archive.transactions import write_transaction  # noqa: E402
from pipelines.dedup import fingerprint  # noqa: E402

REFERENCE_SIZE = 1000
WARM_UP = 50  # articles stored untimed in each copy before timing: its page cache warm
REFERENCE_PROBE = 200  # articles timed per round in the reference (it stays near 1,000)
PROBE = 200  # articles timed per round in the grown archive

Item = tuple  # (FetchedPage, article dict, Fingerprint, (segmented title, segmented text))


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


class Articles:
    """Synthetic articles, numbered on; one in ten a near-copy of a recent one."""

    def __init__(self, seed: int = 42) -> None:
        self.rng = random.Random(seed)
        self.recent: list[str] = []
        self.made = 0

    def take(self, count: int) -> list[Item]:
        texts = [self._text() for _ in range(count)]
        with multiprocessing.get_context("fork").Pool() as pool:
            derived = pool.map(_derive, texts, chunksize=50)
        start, self.made = self.made, self.made + count
        return [(*article(n, text), print_, words)
                for n, text, (print_, words) in zip(range(start, self.made), texts, derived,
                                                    strict=True)]

    def _text(self) -> str:
        copy = self.recent and self.rng.random() < 0.1
        text = near_copy(self.rng.choice(self.recent)) if copy else synthetic_text(self.rng)
        self.recent = [*self.recent[-499:], text]
        return text


def store_all(writer: ArchiveWriter, items: list[Item]) -> Counter[str]:
    return Counter(writer.store(None, "bench", page, art, fingerprint=print_, segmented=words)
                   for page, art, print_, words in items)


def checkpoint(db: sqlite_utils.Database) -> None:
    """Move the WAL into the main file (then a copy of the main file is the archive)."""
    db.execute("pragma wal_checkpoint(truncate)")


def timed_store(writer: ArchiveWriter, items: list[Item]) -> tuple[float, Counter[str]]:
    """(CPU ms per article, outcomes). The WAL is checkpointed before and after, the
    second time inside the timing: what the items cost to move from the WAL into the
    archive's file counts, wherever SQLite's own checkpoints would have fallen."""
    checkpoint(writer.db)
    started = time.process_time()
    outcomes = store_all(writer, items)
    checkpoint(writer.db)
    return 1000 * (time.process_time() - started) / len(items), outcomes


def measure_on_copy(archive: Path, workdir: Path, warm_up: list[Item], probe: list[Item],
                    waiting: int | None = None) -> tuple[float, Counter[str]]:
    """CPU ms per article of `probe` stored into a fresh copy of `archive`, after
    `warm_up` (untimed) has warmed its connection's page cache; and the outcomes.
    `waiting`: how many articles' keys to leave waiting in lsh_recent (set_waiting;
    None: as the archive has them)."""
    copy = workdir / "copy.db"
    shutil.copyfile(archive, copy)
    db = open_archive(copy)
    if waiting is not None:
        set_waiting(db, waiting)
    writer = ArchiveWriter(db)
    store_all(writer, warm_up)
    cost = timed_store(writer, probe)
    db.close()
    for leftover in workdir.glob("copy.db*"):
        leftover.unlink()
    return cost


def set_waiting(db: sqlite_utils.Database, waiting: int) -> None:
    """Fold lsh_recent, then move the newest `waiting` articles' keys back into it: the
    archive as it is at that point of its fold cycle, without growing it."""
    recent, bands = index_tables()
    with write_transaction(db):
        fold(db, 0)
        newest = [row[0] for row in db.execute(
            "select article_id from article_minhash order by article_id desc limit ?",
            [waiting])]
        if newest:
            db.execute(f"insert into {recent} select band, key, article_id from {bands} "
                       "where article_id >= ?", [newest[-1]])
            db.execute(f"delete from {bands} where article_id >= ?", [newest[-1]])
    checkpoint(db)


def fold_cycle(size: int) -> list[int | None]:
    """The index's states (articles waiting in lsh_recent) at which rounds start, PROBE
    articles apart over a fold cycle, so that one round in it stores the article that
    folds lsh_recent, as often as a crawl does. None: never folded, left as it is."""
    assert len(LEVELS) == 2, "written for the index's two levels (archive/neardup.py)"
    limit = LEVELS[0][1] or 0
    if size < limit:
        return [None] * (limit // PROBE)  # as many rounds as the next size's cycle
    return [at for at in range(0, limit, PROBE)]


def run(sizes: list[int], cycles: int) -> list[dict]:
    """Per size, `cycles` times the rounds of fold_cycle(size)."""
    articles = Articles()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        reference, grown = workdir / "reference.db", workdir / "grown.db"
        db = open_archive(reference)
        store_all(ArchiveWriter(db), articles.take(REFERENCE_SIZE))
        checkpoint(db)
        db.close()
        reference_items = articles.take(WARM_UP), articles.take(REFERENCE_PROBE)
        db = open_archive(grown)
        writer = ArchiveWriter(db)
        stored = 0
        for size in sizes:
            while stored < size:  # grow, in batches, to the size
                batch = articles.take(min(5000, size - stored))
                store_all(writer, batch)
                stored += len(batch)
            checkpoint(db)
            grown_items = articles.take(WARM_UP), articles.take(PROBE)
            grown_ms, reference_ms = [], []
            for waiting in fold_cycle(size) * cycles:
                reference_ms.append(measure_on_copy(reference, workdir, *reference_items)[0])
                cost, outcomes = measure_on_copy(grown, workdir, *grown_items, waiting)
                grown_ms.append(cost)
            results.append(summary(size, grown_ms, reference_ms, outcomes,
                                   grown.stat().st_size))
            row = results[-1]
            print(f"{size:>8} archived: {row['ms_per_article']:.3f} ms per article stored, "
                  f"reference {row['reference_ms_per_article']:.3f} "
                  f"(x{row['ratio_to_reference']:.2f} over {len(grown_ms)} rounds; "
                  f"{dict(outcomes)})", flush=True)
        db.close()
    return results


def summary(size: int, grown_ms: list[float], reference_ms: list[float],
            outcomes: Counter[str], db_bytes: int) -> dict:
    """Means over the rounds (a fold cycle's rounds differ on purpose: medians would
    leave the fold out), and their ratio."""
    grown, reference = statistics.fmean(grown_ms), statistics.fmean(reference_ms)
    return {"archived": size,
            "ms_per_article": round(grown, 3),
            "reference_ms_per_article": round(reference, 3),
            "ratio_to_reference": round(grown / reference, 3),
            "round_ratios": [round(g / r, 3) for g, r in zip(grown_ms, reference_ms,
                                                              strict=True)],
            "outcomes": dict(outcomes), "db_mb": round(db_bytes / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--cycles", type=int, default=1,
                        help="fold cycles measured at each size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.sizes, args.cycles)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{'archived':>10} {'ms/article':>11} {'reference':>10} {'x reference':>12} "
          f"{'round ratios':>30} {'db MB':>7}")
    for row in results:
        spread = " ".join(f"{r:.2f}" for r in row["round_ratios"])
        print(f"{row['archived']:>10} {row['ms_per_article']:>11.3f} "
              f"{row['reference_ms_per_article']:>10.3f} {row['ratio_to_reference']:>12.2f} "
              f"{spread:>30} {row['db_mb']:>7.1f}")


if __name__ == "__main__":
    main()
