"""Near-duplicates: MinHash fingerprints, the LSH index in SQLite, the chosen threshold."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from archive import open_archive
from archive.store import ArchiveWriter
from conftest import article_cases, load_json, store_text, truth_text
from pipelines.dedup import THRESHOLD, fingerprint, shingles


def near_copies(text: str, rng: random.Random) -> list[str]:
    """The ways a syndicated copy differs: a 原标题 line, another outlet's boilerplate,
    sentences edited, the ending cut."""
    lines = text.split("\n")
    edited = [line.replace("，", ",", 1) + ("据悉。" if rng.random() < 0.15 else "")
              for line in lines]
    for index in rng.sample(range(len(edited)), k=max(1, len(edited) // 10)):
        edited[index] = edited[index][: len(edited[index]) // 2]
    return [
        "（原标题：" + lines[0][:20] + "）\n" + text,
        text + "\n特别声明：本文为转载，版权归原作者所有。\n责任编辑：李明_NB1234",
        "\n".join(edited),
        "\n".join(lines[: max(1, int(len(lines) * 0.8))]),
    ]


def test_shingles_ignore_spaces_and_punctuation() -> None:
    assert shingles("乌镇，互联网 大会") == shingles("乌镇互联网大会")
    assert "乌镇互联网" in shingles("乌镇互联网大会")
    assert fingerprint("太短了") is None


def test_repost_is_near_and_same_topic_is_not() -> None:
    reference = fingerprint(truth_text("netease/dy-post2020-reference"))
    repost = fingerprint(truth_text("netease/dy-repost"))
    other = fingerprint(truth_text("netease/dy-same-topic"))
    assert reference and repost and other
    assert reference.jaccard(repost.hashvalues) >= THRESHOLD
    assert reference.jaccard(other.hashvalues) < THRESHOLD / 4


def test_threshold_separates_copies_from_distinct_stories() -> None:
    """Precision and recall at THRESHOLD on every fixture: its near copies match, distinct
    stories do not (the www/m copy pair is one story and excluded from the distinct set)."""
    rng = random.Random(7)
    texts = {case.parent.name + "/" + case.name: load_json(case / "truth.json")["text"]
             for case in article_cases()}
    same_story = {frozenset({"netease/mobile-2025", "netease/news-post2020"}),
                  frozenset({"netease/dy-post2020-reference", "netease/dy-repost"})}
    prints = {name: fingerprint(text) for name, text in texts.items()}
    found = missed = 0
    for name, text in texts.items():
        for copy in near_copies(text, rng):
            similar = prints[name].jaccard(fingerprint(copy).hashvalues) >= THRESHOLD
            found, missed = found + similar, missed + (not similar)
    false_matches = [
        (a, b) for a, b in itertools.combinations(texts, 2)
        if frozenset({a, b}) not in same_story
        and prints[a].jaccard(prints[b].hashvalues) >= THRESHOLD
    ]
    assert missed == 0 and found == 4 * len(texts)
    assert false_matches == []


@pytest.fixture
def writer(tmp_path: Path) -> ArchiveWriter:
    return ArchiveWriter(open_archive(tmp_path / "a.db"))


def test_near_copy_points_at_the_first_seen_article(writer: ArchiveWriter,
                                                   tmp_path: Path) -> None:
    original = truth_text("netease/dy-post2020-reference")
    assert store_text(writer, "https://x.test/original", original) == "new"
    assert store_text(writer, "https://x.test/repost",
                      truth_text("netease/dy-repost")) == "near-duplicate"
    assert store_text(writer, "https://x.test/other",
                      truth_text("netease/dy-same-topic")) == "new"
    # The index lives in the archive: a new connection (a restart) still finds copies,
    # and a copy of the copy points at the original, not at the copy.
    reopened = ArchiveWriter(open_archive(tmp_path / "a.db"))
    copy_of_copy = "（原标题：转载）\n" + truth_text("netease/dy-repost")
    assert store_text(reopened, "https://x.test/again", copy_of_copy) == "near-duplicate"
    rows = {r["url"]: r for r in reopened.db["articles"].rows}
    original_id = rows["https://x.test/original"]["id"]
    assert rows["https://x.test/repost"]["duplicate_of"] == original_id
    assert rows["https://x.test/again"]["duplicate_of"] == original_id
    assert rows["https://x.test/other"]["duplicate_of"] is None
    assert rows["https://x.test/original"]["duplicate_of"] is None
