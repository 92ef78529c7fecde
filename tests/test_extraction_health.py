"""Extraction health per run and source: recorded per page at store time, compared by
`newsarchive stats` with the runs before, a template change flagged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import open_archive
from archive.queries import extraction_health, extraction_runs
from archive.store import ArchiveWriter
from conftest import FIXTURES, load_json, make_article, make_page, run_cli
from newsarchive.demo.demo import write_sample_seeds
from newsarchive.demo.samplesite import Route, SampleSite, serve_sample_site

URL = "https://www.163.com/dy/article/G33O1QTA05372UZS.html"
# The post2020 pages; the second run serves them with the body container renamed, as if
# NetEase had shipped a new template: the profile no longer recognises them.
POST2020 = ("dy-post2020-reference", "news-post2020", "dy-repost", "dy-same-topic")


def test_store_records_what_extraction_gave(tmp_path: Path) -> None:
    writer = ArchiveWriter(open_archive(tmp_path / "a.db"))
    writer.store(None, "s", make_page(URL), make_article(URL, author=None))
    writer.store(None, "s", make_page(URL + "?x"), make_article(
        URL + "?x", text="短", profile="generic", template=None, published_at=None),
        profile="netease")
    writer.store(None, "s", make_page("https://example.org/a"), None)
    writer.store(None, "s", make_page("https://example.org/b"), make_article(
        "https://example.org/b", profile="generic", template=None))
    rows = [{k: row[k] for k in ("profile", "template", "has_date", "has_author", "text_chars")}
            for row in writer.db.query("select * from pages order by id")]
    assert rows == [
        # the host's profile, chosen by URL when the seeds name none
        {"profile": "netease", "template": "post2020", "has_date": 1, "has_author": 0,
         "text_chars": len("第一段。\n第二段。")},
        # the seeds' profile found no template: a generic fallback
        {"profile": "netease", "template": None, "has_date": 0, "has_author": 1,
         "text_chars": 1},
        # no article: only the profile asked for
        {"profile": "generic", "template": None, "has_date": None, "has_author": None,
         "text_chars": None},
        # a host without a profile: generic by design
        {"profile": "generic", "template": None, "has_date": 1, "has_author": 1,
         "text_chars": len("第一段。\n第二段。")},
    ]


def test_pages_stored_before_the_migration_are_left_out(tmp_path: Path) -> None:
    writer = ArchiveWriter(open_archive(tmp_path / "a.db"))
    run = writer.start_run("s")
    writer.store(run, "s", make_page(URL), make_article(URL))
    assert extraction_runs(writer.db, "s")[0]["articles"] == 1
    writer.db.execute("update pages set profile = null, template = null, has_date = null, "
                      "has_author = null, text_chars = null")
    assert extraction_runs(writer.db, "s") == [] and extraction_health(writer.db) == []


def renamed_template(tmp_path: Path) -> dict[str, Route]:
    routes = {}
    for case in POST2020:
        meta = load_json(FIXTURES / "netease" / case / "response.json")
        changed = tmp_path / f"{case}.html"
        changed.write_bytes((FIXTURES / "netease" / case / "page.html").read_bytes()
                            .replace(b"post_body", b"content_body"))
        routes[meta["path"]] = Route(changed, 200, meta["headers"])
    return routes


def crawl(site: SampleSite, seeds: Path, db: Path, *sources: str) -> None:
    result = run_cli("crawl", *sources, "--db", str(db), "--seeds", str(seeds),
                     "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every sample source crawled; then demo-netease again, its articles due for a
    revisit, while the site serves its post2020 pages in a changed template."""
    tmp_path = tmp_path_factory.mktemp("health")
    db = tmp_path / "archive.db"
    with serve_sample_site() as site:
        seeds = write_sample_seeds(site.base_url, tmp_path / "seeds")
        crawl(site, seeds, db)
        connection = sqlite3.connect(db)
        with connection:
            connection.execute("update articles set next_check_at = '2000-01-01T00:00:00+00:00'"
                               " where status = 'live'")
        connection.close()
        site.overrides.update(renamed_template(tmp_path))
        crawl(site, seeds, db, "demo-netease")
    yield db


def stats_json(db: Path) -> dict:
    result = run_cli("stats", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_first_run_figures(two_runs: Path) -> None:
    database = open_archive(two_runs)
    first, = extraction_runs(database, "demo-netease")[1:]
    assert first["articles"] >= 7 and first["generic"] == 0 and first["no_date"] == 0
    assert first["short"] == 0 and first["no_article"] == 1  # the deleted-article notice
    [sina] = extraction_runs(database, "demo-sina")
    # The three news.sina.com.cn fixtures, all by the Sina profile's templates.
    assert sina["articles"] == 3 and sina["generic"] == 0 and sina["generic_share"] == 0


def test_stats_flags_the_changed_template(two_runs: Path) -> None:
    health = {row["source"]: row for row in stats_json(two_runs)["extraction"]}
    netease = health["demo-netease"]
    last = netease["last_run"]
    assert last["generic"] == len(POST2020) and last["articles"] == 7
    assert last["generic_share"] == round(4 / 7, 3)
    assert netease["previous"]["runs"] == 1 and netease["previous"]["generic_share"] == 0
    assert {"measure": "generic", "share": round(4 / 7, 3), "before": 0.0} in netease["flags"]
    assert "no_date" not in {flag["measure"] for flag in netease["flags"]}
    # One run, nothing to compare with: shown, not judged.
    assert health["demo-sina"]["flags"] == [] and health["demo-sina"]["previous"]["runs"] == 0


def test_stats_table_shows_the_flag(two_runs: Path) -> None:
    result = run_cli("stats", "--db", str(two_runs), env={"COLUMNS": "220"})
    assert result.returncode == 0, result.stderr
    assert "extraction health" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "demo-netease" in line
                and "template changed?" in line)
    assert "57% (0%)" in line and "generic fallback +57 pts" in line
