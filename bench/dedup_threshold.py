"""Precision and recall of near-duplicate detection at several thresholds, on the fixtures.

    python bench/dedup_threshold.py

Positives: every article fixture against four kinds of near copy (an 原标题 line added,
another outlet's boilerplate appended, about a tenth of sentences edited, the ending cut),
and the real pairs in the fixtures (the 网易号 re-post of the reference story; the www and
m.163.com copies). Negatives: every pair of distinct stories, two of them on one topic
(the reference and dy-same-topic).
"""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_dedup import near_copies  # noqa: E402

from conftest import article_cases, load_json  # noqa: E402
from pipelines.dedup import THRESHOLD, fingerprint  # noqa: E402

SAME_STORY = {frozenset({"netease/mobile-2025", "netease/news-post2020"}),
              frozenset({"netease/dy-post2020-reference", "netease/dy-repost"})}


def main() -> None:
    rng = random.Random(7)
    texts = {f"{c.parent.name}/{c.name}": load_json(c / "truth.json")["text"]
             for c in article_cases()}
    prints = {name: fingerprint(text) for name, text in texts.items()}
    positives = [prints[n].jaccard(fingerprint(copy).hashvalues)
                 for n, text in texts.items() for copy in near_copies(text, rng)]
    negatives = []
    for a, b in itertools.combinations(texts, 2):
        score = prints[a].jaccard(prints[b].hashvalues)
        (positives if frozenset({a, b}) in SAME_STORY else negatives).append(score)
    print(f"{len(positives)} near-copy pairs, {len(negatives)} distinct-story pairs")
    print(f"near copies score {min(positives):.2f}..{max(positives):.2f}; "
          f"distinct stories {min(negatives):.2f}..{max(negatives):.2f}")
    print(f"{'threshold':>9} {'precision':>9} {'recall':>7}")
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        found = sum(s >= threshold for s in positives)
        false = sum(s >= threshold for s in negatives)
        precision = found / (found + false) if found + false else 1.0
        mark = "  <- THRESHOLD" if threshold == THRESHOLD else ""
        print(f"{threshold:>9.1f} {precision:>9.3f} {found / len(positives):>7.3f}{mark}")


if __name__ == "__main__":
    main()
