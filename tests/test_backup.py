"""Online backups: `newsarchive backup` while a crawl of a few hundred pages writes the
archive, each copy checked on its own (integrity, every article whole); `--verify`; DEST
replaced atomically; a restored backup continued by the next crawl."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from generated_site import canonical, generate_site, start_crawl, write_seeds

from archive.checks import archive_problems
from conftest import run_cli
from newsarchive.demo.samplesite import serve_sample_site

PAGES = 300


def articles(db: Path) -> list[str]:
    connection = sqlite3.connect(db)
    try:
        return [row[0] for row in connection.execute("select canonical_url from articles")]
    finally:
        connection.close()


def problems(db: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return archive_problems(connection)
    finally:
        connection.close()


def test_backups_taken_during_a_crawl_are_whole(tmp_path: Path) -> None:
    generate_site(tmp_path / "site", PAGES)
    db = tmp_path / "archive.db"
    copies: list[tuple[Path, int]] = []  # (backup, articles in it)
    with serve_sample_site(root=tmp_path / "site") as site:
        seeds = write_seeds(site, tmp_path / "seeds")
        crawl = start_crawl(db, seeds)
        try:
            while crawl.poll() is None or not copies:
                if not db.exists():
                    time.sleep(0.1)
                    continue
                dest = tmp_path / "backups" / f"b{len(copies)}.db"
                result = run_cli("backup", str(dest), "--db", str(db))
                if "no articles table" in result.stderr:
                    continue  # the archive was not migrated yet
                assert result.returncode == 0, result.stderr
                assert "checked ok" in result.stdout
                assert not list(dest.parent.glob(".*.tmp"))  # nothing left behind
                copies.append((dest, len(articles(dest))))
                time.sleep(2)  # a backup every few seconds is plenty
        finally:
            _, stderr = crawl.communicate(timeout=600)
        assert crawl.returncode == 0, stderr.decode("utf-8", "replace")[-3000:]

        # Each copy on its own: a single file, whole, checked by --verify as well.
        mid_crawl = [n for _, n in copies if 0 < n < PAGES]
        assert mid_crawl, f"no backup landed mid-crawl: {copies}"
        for index, (dest, count) in enumerate(copies):
            assert not Path(f"{dest}-wal").exists()
            assert problems(dest) == []
            if index in (0, len(copies) // 2, len(copies) - 1):  # and through the CLI
                verified = run_cli("backup", "--verify", str(dest))
                assert verified.returncode == 0, verified.stderr
                assert verified.stdout.startswith(f"{dest}: ok, {count} articles")
        assert [n for _, n in copies] == sorted(n for _, n in copies)  # later, more

        # Restore a mid-crawl backup and crawl again: the rest is fetched, nothing twice.
        restored = tmp_path / "restored.db"
        shutil.copy(copies[[n for _, n in copies].index(mid_crawl[0])][0], restored)
        again = start_crawl(restored, seeds)
        _, stderr = again.communicate(timeout=600)
        assert again.returncode == 0, stderr.decode("utf-8", "replace")[-3000:]
    stored = articles(restored)
    assert sorted(stored) == sorted(canonical(n) for n in range(PAGES))
    assert problems(restored) == []


def test_a_failed_backup_leaves_dest_as_it_was(tmp_path: Path) -> None:
    dest = tmp_path / "backup.db"
    dest.write_bytes(b"the previous backup")
    result = run_cli("backup", str(dest), "--db", str(tmp_path / "missing.db"))
    assert result.returncode == 1
    assert "no archive at" in result.stderr
    assert dest.read_bytes() == b"the previous backup"


def test_verify_names_what_is_wrong(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    result = run_cli("backup", "--verify", str(garbage))
    assert result.returncode == 1 and f"Error: {garbage}" in result.stderr
    missing = run_cli("backup", "--verify", str(tmp_path / "none.db"))
    assert missing.returncode == 1 and "no backup at" in missing.stderr

    # An archive with an article whose search-index entry is gone.
    db = tmp_path / "archive.db"
    generate_site(tmp_path / "site", 3)
    with serve_sample_site(root=tmp_path / "site") as site:
        crawl = start_crawl(db, write_seeds(site, tmp_path / "seeds"))
        crawl.communicate(timeout=600)
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("delete from article_minhash where article_id = "
                           "(select min(id) from articles)")
    connection.close()
    broken = run_cli("backup", "--verify", str(db))
    assert broken.returncode == 1
    assert "1 articles lack their page, URLs or index entries" in broken.stderr
