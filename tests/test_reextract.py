"""`newsarchive reextract`: an archive built by a real crawl of the sample site, an
article's stored extraction made worse in SQLite (as an older extractor would have left
it), then re-extracted from its stored page."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import archive.neardup as neardup
import archive.pagecodec as pagecodec
import archive.pagedicts as pagedicts
import newsarchive.reextract.service as reextract_module
from archive import open_archive
from archive.fts import index_article, search
from archive.neardup import NearDuplicateIndex
from archive.store import content_hash
from conftest import FIXTURES, load_json, run_cli
from newsarchive.demo.demo import write_sample_seeds
from newsarchive.demo.samplesite import serve_sample_site
from pipelines.dedup import fingerprint

CASE = FIXTURES / "netease" / "dy-post2020-reference"
CANONICAL = load_json(CASE / "expected.json")["canonical_url"]
EXPECTED = load_json(CASE / "expected.json")
# What an older, worse extraction kept: the first paragraph, then the disclaimer.
WORSE_TEXT = EXPECTED["text"].splitlines()[0] + "\n特别声明：以上内容为自媒体平台用户上传并发布"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample site crawled once (every source); each test gets its own copy."""
    tmp_path = tmp_path_factory.mktemp("crawled")
    db = tmp_path / "archive.db"
    with serve_sample_site() as site:
        seeds = write_sample_seeds(site.base_url, tmp_path / "seeds")
        result = run_cli("crawl", "--db", str(db), "--seeds", str(seeds),
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
        assert result.returncode == 0, result.stderr[-3000:]
    yield db


@pytest.fixture
def archive(crawled: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "archive.db"
    source, target = sqlite3.connect(crawled), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    return copy


def execute(db: Path, sql: str, *params: object) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        with connection:
            return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def worsen(db: Path) -> int:
    """Store the reference article as an old extractor had it, indexed as it would have
    been; its id."""
    database = open_archive(db)
    [(article_id, title, text)] = database.execute(
        "select id, title, text from articles where canonical_url = ?", [CANONICAL]).fetchall()
    with database.atomic():
        database.execute("update articles set text = ?, content_hash = ?, title = ?, "
                         "author = null where id = ?",
                         [WORSE_TEXT, content_hash(WORSE_TEXT), EXPECTED["title"] + "_网易订阅",
                          article_id])
        index_article(database, article_id, previous=(title, text))
        NearDuplicateIndex(database).index(article_id, fingerprint(WORSE_TEXT))
    database.close()
    return article_id


def found(db: Path, query: str) -> list[int]:
    database = open_archive(db)
    try:
        return [hit["id"] for hit in search(database, query)]
    finally:
        database.close()


def snapshot(db: Path) -> list[list[tuple]]:
    return [execute(db, f"select * from {table} order by 1") for table in
            ("articles", "article_versions", "article_minhash", "lsh_pending", "lsh_bands",
             "lsh_state", "pages")]


def reextract(db: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("reextract", "--db", str(db), "-j", "2", *args)
    return result.returncode, result.stdout, result.stderr


def test_a_crawled_archive_is_unchanged(archive: Path) -> None:
    before = snapshot(archive)
    code, out, err = reextract(archive)
    assert code == 0, err
    articles = len(execute(archive, "select id from articles"))
    assert f"checked    {articles} articles" in out
    assert "changed    0" in out and f"unchanged  {articles}" in out and "failed     0" in out
    assert snapshot(archive) == before


def test_worse_extraction_is_restored_with_a_version(archive: Path) -> None:
    article_id = worsen(archive)
    # "水乡" is in the last paragraph only, which the worse extraction lost.
    assert found(archive, "水乡") == []
    assert found(archive, "自媒体平台") == [article_id]
    code, out, err = reextract(archive)
    assert code == 0, err
    assert "changed    1: title 1, author 1, text 1" in out, out
    assert f"changed: {CANONICAL}" not in out  # listed by the URL it was fetched from
    assert "/www.163.com/dy/article/KEK0A3PK0527D7QO.html  title, author, text" in out
    [row] = execute(archive, "select title, author, text, version, content_hash "
                    "from articles where id = ?", article_id)
    assert row[:4] == (EXPECTED["title"], EXPECTED["author"], EXPECTED["text"], 2)
    [version] = execute(archive, "select version, changed_fields, text, title, text_diff "
                        "from article_versions where article_id = ?", article_id)
    assert version[:4] == (1, json.dumps(["title", "author", "text"]), WORSE_TEXT,
                           EXPECTED["title"] + "_网易订阅")
    assert "-特别声明：以上内容为自媒体平台用户上传并发布" in version[4]
    # The search index and the fingerprint follow the restored text.
    assert found(archive, "水乡") == [article_id]
    assert found(archive, "自媒体平台") == []
    [(hashvalues,)] = execute(archive, "select hashvalues from article_minhash "
                              "where article_id = ?", article_id)
    assert hashvalues == fingerprint(EXPECTED["text"]).hashvalues
    # Visible where a revisit's change would be.
    history = run_cli("history", CANONICAL, "--db", str(archive), env={"COLUMNS": "200"})
    assert "version 1 → 2" in history.stdout and "title, author, text" in history.stdout
    # Done once: a second run finds nothing to change.
    code, out, _ = reextract(archive)
    assert code == 0 and "changed    0" in out


def test_reindexed_fingerprints_are_folded(archive: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-extraction that re-indexes many texts folds them at its end, as a crawl does
    when enough are pending (here 1 article)."""
    article_id = worsen(archive)
    monkeypatch.setattr(neardup, "FOLD_AFTER", 1)
    db = open_archive(archive)
    assert reextract_module.reextract(db, workers=1).changed == 1
    assert db.execute("select count(*) from lsh_pending").fetchone()[0] == 0
    keys = db.execute("select band, key from lsh_bands where article_id = ? order by band",
                      [article_id]).fetchall()
    assert keys == list(enumerate(fingerprint(EXPECTED["text"]).bands))
    db.close()


def test_dry_run_changes_nothing(archive: Path) -> None:
    worsen(archive)
    before = snapshot(archive)
    code, out, err = reextract(archive, "--dry-run")
    assert code == 0, err
    assert "would change 1: title 1, author 1, text 1" in out
    assert "dry run: nothing was written" in out
    assert snapshot(archive) == before


def test_source_and_since_select_articles(archive: Path) -> None:
    worsen(archive)
    code, out, _ = reextract(archive, "--source", "demo-sina", "--json")
    report = json.loads(out)
    assert code == 0 and (report["checked"], report["changed"]) == (3, 0)  # its 3 sina pages
    code, out, _ = reextract(archive, "--since", "2999-01-01", "--json")
    assert code == 0 and json.loads(out)["checked"] == 0
    code, out, _ = reextract(archive, "--since", "2000-01-01T08:00+08:00", "--json")
    assert code == 0 and json.loads(out)["changed"] == 1
    code, _, err = reextract(archive, "--since", "yesterday")
    assert code == 2 and "expected YYYY-MM-DD" in err


def test_pages_stored_before_profiles_were_recorded(archive: Path) -> None:
    """The sample site's 127.0.0.1 URLs name no host with a profile: an old page is
    re-extracted with the profile its article records, not generically."""
    execute(archive, "update pages set profile = null")
    worsen(archive)
    code, out, err = reextract(archive, "--json")
    report = json.loads(out)
    assert code == 0, err
    assert (report["changed"], report["failed"], report["refreshed"]) == (1, 0, 0)
    [(profile, template)] = execute(archive, "select profile, template from articles "
                                    "where canonical_url = ?", CANONICAL)
    assert (profile, template) == ("netease", "post2020")


def test_a_page_without_an_article_is_a_failure(archive: Path) -> None:
    [(page_id,)] = execute(archive, "select max(p.id) from pages p join articles a "
                           "on a.id = p.article_id where a.canonical_url = ?", CANONICAL)
    # A page stored before zstd (m006): zlib, and read as such.
    execute(archive, "update pages set body = ?, codec = 'zlib' where id = ?",
            zlib.compress(b"<html><body><p>gone</p></body></html>"), page_id)
    before = snapshot(archive)
    code, out, _ = reextract(archive)
    assert code == 1
    assert "failed     1" in out and "no article found in the stored page" in out
    assert snapshot(archive) == before


def test_pages_kept_with_a_site_dictionary_are_read_in_the_workers(
        archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers read each stored page themselves, with the archive's dictionaries: the
    page goes to them as stored, not decompressed by the re-extracting process."""
    db = open_archive(archive)
    [(url,)] = db.execute("select final_url from pages p join articles a "
                          "on a.id = p.article_id where a.canonical_url = ?",
                          [CANONICAL]).fetchall()[:1]
    site = pagecodec.site_of(url)
    monkeypatch.setattr(pagedicts, "TRAIN_AFTER", 5)
    monkeypatch.setattr(pagedicts, "SAMPLES", 1000)  # all of the sample site's pages
    monkeypatch.setattr(pagedicts, "MIN_DICT_SIZE", 1024)
    dict_id = pagedicts.train_site_dictionary(db, site)
    assert dict_id is not None
    [(page_codec,)] = db.execute("select codec from pages where final_url = ?", [url])
    assert page_codec == f"zstd-dict:{dict_id}"
    db.close()
    worsen(archive)
    code, out, err = reextract(archive, "--json")
    report = json.loads(out)
    assert code == 0, err
    assert (report["changed"], report["failed"]) == (1, 0)
    assert execute(archive, "select text from articles where canonical_url = ?",
                   CANONICAL) == [(EXPECTED["text"],)]


def test_a_text_changed_only_in_its_spacing_keeps_its_fingerprint(archive: Path) -> None:
    """Stored text that differs from today's extraction only in whitespace has the same
    content hash, hence the same letters to fingerprint: the text is restored with a
    version, and the near-duplicate index is left as it is (no new pending keys)."""
    spaced = EXPECTED["text"].replace("\n", "\n\n")
    assert content_hash(spaced) == content_hash(EXPECTED["text"])
    execute(archive, "update articles set text = ? where canonical_url = ?",
            spaced, CANONICAL)
    index_before = [execute(archive, f"select * from {table} order by 1")
                    for table in ("article_minhash", "lsh_pending", "lsh_bands")]
    code, out, err = reextract(archive)
    assert code == 0, err
    assert "changed    1: text 1" in out, out
    assert execute(archive, "select text from articles where canonical_url = ?",
                   CANONICAL) == [(EXPECTED["text"],)]
    assert [execute(archive, f"select * from {table} order by 1") for table in
            ("article_minhash", "lsh_pending", "lsh_bands")] == index_before
