"""What storing one more article costs as the archive grows (dedup included).

    python bench/dedup_cost.py                 # sizes 1000 10000 100000 (~25 min here)
    python bench/dedup_cost.py --sizes 1000 20000 --rounds 6 --json

Synthetic articles (Chinese dictionary words at random, ~1,500 characters, one in ten a
near-copy of an earlier one) are stored through ArchiveWriter.store, the crawl's own write
path: page, URL identity, content hash, near-duplicate lookup and index, search index,
all in one transaction, in crawl runs (one per batch of 5,000 as the archive grows, one
per round measured) whose counts each store updates. Fingerprints and the search index's
segmented title and text are computed beforehand, as the crawl computes them in its
extraction workers, so the figure is the archive's cost alone (CPU time of this
process: user and system, so page reads and WAL writes count).

The archive is grown to each size. Then, in each round, a fresh copy of it is warmed up
with 50 articles and the time per article is measured on the next 200 stored into the
copy (the same ones each round: the archive stays at its size), the WAL checkpointed
inside the timing. Each round is measured beside the same measure on a copy of a
reference archive of 1,000 articles: the machine is shared, and what other processes do
moves CPU time by 10-30% between rounds, but it moves both measures of a round alike, so
the cost at each size is given as a ratio to the reference measured beside it (mean over
mean). At 1,000 both are archives of that size: the ratio there shows the noise left.

The near-duplicate index keeps the newest articles' keys pending and folds them into
lsh_bands every FOLD_AFTER articles (archive/neardup.py). The rounds start at states of
the fold cycle spread over it (set_pending), and the fold itself is timed on its own, on
copies with FOLD_AFTER articles pending, checkpoint included: its share of a store is
the fold's time over the articles it folds, added to the rounds' mean. Every article is
folded once, so an archive smaller than FOLD_AFTER (the reference among them) pays that
share too, at its next fold: there it is timed by folding what it has pending.

"dedup" is the part of the store that is deduplication, timed in place: URL identity
(by canonical URL), the content-hash lookup, the near-duplicate lookup and the index
update, plus the fold share. The whole store also counts the page, the search index and
the commit, which writes what all of them changed.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlite_utils  # noqa: E402

from archive import neardup, open_archive  # noqa: E402
from archive.fts import segment  # noqa: E402
from archive.neardup import keys_json  # noqa: E402
from archive.store import ArchiveWriter, FetchedPage  # noqa: E402
from archive.transactions import write_transaction  # noqa: E402
from pipelines.dedup import band_keys, fingerprint  # noqa: E402

REFERENCE_SIZE = 1000
WARM_UP = 50  # articles stored untimed in each copy before timing: its page cache warm
PROBE = 200  # articles timed per round
FOLD_REPEATS = 3  # folds timed per size

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


def store_all(writer: ArchiveWriter, items: list[Item], run_id: int | None = None,
              ) -> Counter[str]:
    """Store the items as one crawl run does (in a run of their own unless given one):
    the run's id is in every page row and in its index, as a crawl's is."""
    run = run_id if run_id is not None else writer.start_run("bench")
    stored = Counter(writer.store(run, "bench", page, art, fingerprint=print_,
                                  segmented=words) for page, art, print_, words in items)
    if run_id is None:
        writer.finish_run(run, "ok", "finished")
    return stored


def checkpoint(db: sqlite_utils.Database) -> None:
    """Move the WAL into the main file (then a copy of the main file is the archive)."""
    db.execute("pragma wal_checkpoint(truncate)")


class DedupClock:
    """CPU time spent in the writer's deduplication steps, timed where they run."""

    def __init__(self, writer: ArchiveWriter) -> None:
        self.seconds = 0.0
        near = writer.near
        near.find = self._timed(near.find)  # type: ignore[method-assign]
        near.index = self._timed(near.index)  # type: ignore[method-assign]
        writer._row = self._timed(writer._row)  # type: ignore[method-assign]  # URL, hash

    def _timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - started
        return timed


def timed_store(writer: ArchiveWriter, items: list[Item]) -> tuple[float, float]:
    """(CPU ms per article, of which dedup). The WAL is checkpointed before and after,
    the second time inside the timing: what the items cost to move from the WAL into the
    archive's file counts, wherever SQLite's own checkpoints would have fallen."""
    run_id = writer.start_run("bench")
    checkpoint(writer.db)
    clock = DedupClock(writer)
    started = time.process_time()
    store_all(writer, items, run_id)
    checkpoint(writer.db)
    elapsed = time.process_time() - started
    writer.finish_run(run_id, "ok", "finished")
    return 1000 * elapsed / len(items), 1000 * clock.seconds / len(items)


def fresh_copy(archive: Path, workdir: Path, pending: int | None) -> sqlite_utils.Database:
    copy = workdir / "copy.db"
    for leftover in workdir.glob("copy.db*"):
        leftover.unlink()
    shutil.copyfile(archive, copy)
    db = open_archive(copy)
    if pending is not None:
        set_pending(db, pending)
    return db


def measure_on_copy(archive: Path, workdir: Path, warm_up: list[Item], probe: list[Item],
                    pending: int | None = None) -> tuple[float, float]:
    """CPU ms per article of `probe` stored into a fresh copy of `archive` after
    `warm_up` (untimed) has warmed its page cache, and of that the dedup steps.
    `pending`: how many articles' keys to leave pending (None: as the archive has them)."""
    db = fresh_copy(archive, workdir, pending)
    writer = ArchiveWriter(db)
    store_all(writer, warm_up)
    cost = timed_store(writer, probe)
    db.close()
    return cost


def set_pending(db: sqlite_utils.Database, count: int) -> None:
    """Take the newest `count` articles' keys out of lsh_bands and make them pending:
    the archive as it is at that point of its fold cycle, without growing it. (Their
    bits stay set in the filter: a few wasted lookups, as after revisions.)"""
    with write_transaction(db):
        pending = db.execute("select count(distinct article_id) from lsh_pending"
                             ).fetchone()[0]
        newest = db.execute(
            "select article_id, hashvalues from article_minhash where article_id not in "
            "(select article_id from lsh_pending) order by article_id desc limit ?",
            [max(0, count - pending)]).fetchall()
        if newest:  # the newest ids, but for those pending (whose keys are not there)
            db.execute("delete from lsh_bands where article_id >= ?", [newest[-1][0]])
        db.conn.executemany("insert into lsh_pending (article_id, keys) values (?, ?)",
                            [(article_id, keys_json(band_keys(hashvalues)))
                             for article_id, hashvalues in reversed(newest)])
        db.execute("update lsh_state set folds = folds + 1")  # writers read it all again
    checkpoint(db)


def fold_cycle(size: int, rounds: int) -> list[int | None]:
    """Pending counts at which rounds start, spread over a fold cycle. None: an archive
    that has never folded, left as it is."""
    limit = neardup.FOLD_AFTER
    if size < limit:
        return [None] * rounds
    return [limit * i // rounds for i in range(rounds)]


def measure_fold(archive: Path, workdir: Path, size: int) -> tuple[float, float, int]:
    """(CPU seconds of a fold, checkpoint included; CPU seconds for a writer to read the
    pending keys into memory when it starts; articles folded): FOLD_AFTER pending, or
    as many as a smaller archive has."""
    folds, starts = [], []
    pending = neardup.FOLD_AFTER if size >= neardup.FOLD_AFTER else None
    for _ in range(FOLD_REPEATS):
        db = fresh_copy(archive, workdir, pending)
        writer = ArchiveWriter(db)
        started = time.process_time()
        with writer.near.writing():
            writer.near.sync()
        starts.append(time.process_time() - started)
        checkpoint(db)
        started = time.process_time()
        articles = writer.near.fold()
        checkpoint(db)
        folds.append(time.process_time() - started)
        db.close()
    return statistics.fmean(folds), statistics.fmean(starts), articles


def run(sizes: list[int], rounds: int) -> list[dict]:
    articles = Articles()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        reference, grown = workdir / "reference.db", workdir / "grown.db"
        db = open_archive(reference)
        store_all(ArchiveWriter(db), articles.take(REFERENCE_SIZE))
        checkpoint(db)
        db.close()
        reference_items = articles.take(WARM_UP), articles.take(PROBE)
        reference_fold = measure_fold(reference, workdir, REFERENCE_SIZE)
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
            for pending in fold_cycle(size, rounds):
                reference_ms.append(measure_on_copy(reference, workdir, *reference_items))
                grown_ms.append(measure_on_copy(grown, workdir, *grown_items, pending))
            results.append(summary(size, grown_ms, reference_ms,
                                   measure_fold(grown, workdir, size), reference_fold,
                                   grown.stat().st_size))
            row = results[-1]
            print(f"{size:>8} archived: {row['ms_per_article']:.3f} ms per article stored "
                  f"(fold share {row['fold_ms_per_article']:.3f}), reference "
                  f"{row['reference_ms_per_article']:.3f}: x{row['ratio_to_reference']:.2f}; "
                  f"dedup {row['dedup_ms_per_article']:.3f} ms, "
                  f"x{row['dedup_ratio_to_reference']:.2f}", flush=True)
        db.close()
    return results


Fold = tuple[float, float, int]  # measure_fold's


def summary(size: int, grown: list[tuple[float, float]], reference: list[tuple[float, float]],
            fold: Fold, reference_fold: Fold, db_bytes: int) -> dict:
    """Means over the rounds (a fold cycle's rounds differ on purpose), each with its
    fold share added, and their ratio to the reference."""
    fold_ms = 1000 * fold[0] / max(fold[2], 1)
    reference_fold_ms = 1000 * reference_fold[0] / max(reference_fold[2], 1)
    store = statistics.fmean(g for g, _ in grown) + fold_ms
    dedup = statistics.fmean(d for _, d in grown) + fold_ms
    ref_store = statistics.fmean(r for r, _ in reference) + reference_fold_ms
    ref_dedup = statistics.fmean(d for _, d in reference) + reference_fold_ms
    return {"archived": size,
            "ms_per_article": round(store, 3),
            "fold_ms_per_article": round(fold_ms, 3),
            "reference_fold_ms_per_article": round(reference_fold_ms, 3),
            "fold_s": round(fold[0], 3), "folded": fold[2],
            "writer_start_s": round(fold[1], 3),
            "reference_ms_per_article": round(ref_store, 3),
            "ratio_to_reference": round(store / ref_store, 3),
            "dedup_ms_per_article": round(dedup, 3),
            "reference_dedup_ms_per_article": round(ref_dedup, 3),
            "dedup_ratio_to_reference": round(dedup / ref_dedup, 3),
            "round_ratios": (ratios := [round(g / r, 3) for (g, _), (r, _) in
                                        zip(grown, reference, strict=True)]),
            "median_round_ratio": round(statistics.median(ratios), 3),
            "db_mb": round(db_bytes / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--rounds", type=int, default=20, help="rounds at each size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.sizes, args.rounds)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{'archived':>9} {'store ms':>9} {'ref ms':>7} {'x ref':>6} {'median':>6}  "
          f"{'dedup ms':>8} {'ref':>6} {'x ref':>6}  {'fold s':>6} {'folded':>6} "
          f"{'start s':>7} {'db MB':>7}")
    for row in results:
        print(f"{row['archived']:>9} {row['ms_per_article']:>9.3f} "
              f"{row['reference_ms_per_article']:>7.3f} {row['ratio_to_reference']:>6.2f} "
              f"{row['median_round_ratio']:>6.2f}  {row['dedup_ms_per_article']:>8.3f} "
              f"{row['reference_dedup_ms_per_article']:>6.3f} "
              f"{row['dedup_ratio_to_reference']:>6.2f}  {row['fold_s']:>6.2f} "
              f"{row['folded']:>6} {row['writer_start_s']:>7.2f} {row['db_mb']:>7.1f}")
    print("round ratios (store):")
    for row in results:
        print(f"{row['archived']:>9}  " + " ".join(f"{r:.2f}" for r in row["round_ratios"]))


if __name__ == "__main__":
    main()
