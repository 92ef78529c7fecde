"""One MinHash algorithm per archive (archive/signatures.py): an archive whose signatures
are datasketch's, as every archive before m016 holds, is re-fingerprinted with rensa's
when opened, and dedup decides on it as before. Cluster results from a node of another
version are fingerprinted again by the writer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlite_utils
from datasketch import MinHash
from test_neardup_index import article_id, build_archive, counts, index_keys

import archive.signatures
from archive import open_archive
from archive.store import ArchiveWriter
from conftest import make_article, make_page, store_text, truth_text
from crawler.cluster.results import decode, encode
from crawler.items import PageItem
from pipelines.dedup import SIGNATURE, Fingerprint, fingerprint, shingles

ORIGINAL = truth_text("netease/dy-post2020-reference")
REPOST = truth_text("netease/dy-repost")
OTHER = truth_text("netease/dy-same-topic")
BEFORE_M016 = 15  # migrations


def datasketch_signature(text: str) -> tuple[bytes, list[int]]:
    """A signature and band keys as newsarchive stored them before m016: datasketch's
    MinHash (128 uint64, little-endian), 32 bands of 4 rows hashed with blake2b."""
    minhash = MinHash(num_perm=128, seed=1)
    minhash.update_batch([g.encode("utf-8") for g in shingles(text)])
    values = minhash.hashvalues.astype("<u8").tobytes()
    bands = [int.from_bytes(hashlib.blake2b(values[b * 32:(b + 1) * 32], digest_size=8)
                            .digest(), "little") >> 1 for b in range(32)]
    return values, bands


def old_archive(path: Path) -> dict[str, int]:
    """An archive as m015 left it, two articles indexed with datasketch's signatures (one
    folded, one pending), and one whose text is too short to fingerprint now."""
    db = build_archive(path, BEFORE_M016)
    ids = {}
    for name, text, folded in (("original", ORIGINAL, True), ("other", OTHER, False),
                               ("short", "太短的一句话。", True)):
        row = {**make_article(f"https://x.test/{name}", text=text), "images": "[]",
               "content_hash": name, "fetched_at": "2025-11-01T00:00:00+00:00",
               "first_seen_at": "2025-11-01T00:00:00+00:00"}
        ids[name] = new_id = int(db["articles"].insert(
            {k: v for k, v in row.items() if k in db["articles"].columns_dict}).last_pk)
        values, bands = datasketch_signature(
            "一段后来被删短了的文字" * 5 if name == "short" else text)
        db["article_minhash"].insert({"article_id": new_id, "hashvalues": values})
        if folded:
            db["lsh_bands"].insert_all({"band": b, "key": k, "article_id": new_id}
                                       for b, k in enumerate(bands))
        else:
            db["lsh_pending"].insert({"article_id": new_id, "keys": json.dumps(bands)})
    db.close()
    return ids


def stored_signatures(db: sqlite_utils.Database) -> dict[int, bytes]:
    return dict(db.execute("select article_id, hashvalues from article_minhash").fetchall())


def test_an_archive_of_datasketch_signatures_is_refingerprinted_when_opened(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ids = old_archive(tmp_path / "old.db")
    db = open_archive(tmp_path / "old.db")
    assert "computing the near-duplicate signatures of 3 articles again (rensa" in caplog.text
    assert db.execute("select signature from lsh_state").fetchone() == (SIGNATURE,)
    assert stored_signatures(db) == {ids["original"]: fingerprint(ORIGINAL).hashvalues,
                                     ids["other"]: fingerprint(OTHER).hashvalues}
    assert index_keys(db) == {ids["original"]: list(enumerate(fingerprint(ORIGINAL).bands)),
                              ids["other"]: list(enumerate(fingerprint(OTHER).bands))}
    assert counts(db) == (0, 64, 1)  # all folded, in key order; writers forget their keys
    writer = ArchiveWriter(db)
    assert store_text(writer, "https://x.test/repost", REPOST) == "near-duplicate"
    assert db.execute("select duplicate_of from articles where id = ?",
                      [article_id(db, "https://x.test/repost")]).fetchone() == (ids["original"],)
    assert store_text(writer, "https://x.test/again", "（原标题：转载）\n" + OTHER) \
        == "near-duplicate"
    # Opened again: nothing to do.
    assert archive.signatures.refingerprint_if_stale(open_archive(tmp_path / "old.db")) is None


def test_a_refingerprint_that_fails_midway_leaves_the_archive_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_archive(tmp_path / "old.db")
    before = stored_signatures(sqlite_utils.Database(tmp_path / "old.db"))
    monkeypatch.setattr(archive.signatures, "CHUNK", 1)  # the first article is written
    calls = []

    def killed_at_the_second(text: str) -> Fingerprint | None:
        calls.append(text)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fingerprint(text)
    monkeypatch.setattr(archive.signatures, "fingerprint", killed_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        open_archive(tmp_path / "old.db")
    db = sqlite_utils.Database(tmp_path / "old.db")
    assert stored_signatures(db) == before
    assert db.execute("select signature from lsh_state").fetchone() == (None,)
    monkeypatch.setattr(archive.signatures, "fingerprint", fingerprint)
    assert counts(open_archive(tmp_path / "old.db")) == (0, 64, 1)  # the next open does it


def test_a_new_archive_starts_with_this_signature_and_no_fold(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "new.db")
    assert db.execute("select signature from lsh_state").fetchone() == (SIGNATURE,)
    assert counts(db) == (0, 0, 0)


def test_a_cluster_result_of_another_signature_is_fingerprinted_again() -> None:
    url = "https://www.163.com/dy/article/A.html"
    article = make_article(url, text=ORIGINAL)
    values, bands = datasketch_signature(ORIGINAL)
    item = PageItem(source="s", profile="netease", page=make_page(url), article=article,
                    fingerprint=Fingerprint(values, tuple(bands)), segmented=("t", "x"),
                    body_blob=None, body_codec=None)
    fields = {k.encode(): v for k, v in encode(item, "r1", "n1").items()}
    # Labelled as this version's: taken as sent.
    assert decode(fields).item.fingerprint.hashvalues == values
    meta = json.loads(fields[b"meta"])
    meta["signature"] = "datasketch MinHash, 128 permutations"  # an older node's
    fields[b"meta"] = json.dumps(meta).encode()
    assert decode(fields).item.fingerprint == fingerprint(ORIGINAL)
    del meta["signature"]  # a node from before signatures were named
    fields[b"meta"] = json.dumps(meta).encode()
    assert decode(fields).item.fingerprint == fingerprint(ORIGINAL)
