"""`newsarchive duplicates` and `newsarchive history` on a real archive file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from archive import open_archive
from archive.store import ArchiveWriter
from conftest import load_json, make_article, make_page
from newsarchive.cli import cli
from pipelines.dedup import fingerprint

FIXTURES = Path(__file__).parent / "fixtures"
WWW = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"
MOBILE = "https://m.163.com/dy/article/KEK0A3PK0527D7QO.html"
REPOST = "https://www.163.com/dy/article/KEL1B2CD0556XYZ1.html"


def build(tmp_path: Path) -> Path:
    db = tmp_path / "a.db"
    writer = ArchiveWriter(open_archive(db))
    for url, case in ((WWW, "dy-post2020-reference"), (REPOST, "dy-repost")):
        text = load_json(FIXTURES / "netease" / case / "truth.json")["text"]
        writer.store(None, "s", make_page(url), make_article(url, text=text),
                     fingerprint=fingerprint(text))
    writer.link_url(MOBILE, WWW)
    edited = make_article(WWW, text="改过的正文。\n第二段。", title="改过的标题")
    writer.store(None, "s", make_page(WWW), edited, revisit=True)
    return db


def test_duplicates_lists_the_cluster(tmp_path: Path) -> None:
    db = build(tmp_path)
    result = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    [cluster] = json.loads(result.output)
    assert cluster["url"] == WWW and cluster["other_urls"] == [MOBILE]
    [member] = cluster["members"]
    assert member["url"] == REPOST and member["similarity"] >= 0.5
    table = CliRunner().invoke(cli, ["duplicates", "--db", str(db)], env={"COLUMNS": "200"})
    assert "1 duplicate clusters" in table.output and "KEL1B2CD" in table.output


def test_history_shows_versions_from_any_url(tmp_path: Path) -> None:
    db = build(tmp_path)
    result = CliRunner().invoke(cli, ["history", MOBILE, "--db", str(db)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "改过的标题" in result.output and "version 2" in result.output
    assert "title, text" in result.output and "+改过的正文。" in result.output
    as_json = json.loads(CliRunner().invoke(
        cli, ["history", WWW, "--db", str(db), "--json"]).output)
    assert [v["version"] for v in as_json["versions"]] == [1]


def test_history_of_unknown_url_and_missing_archive(tmp_path: Path) -> None:
    db = build(tmp_path)
    result = CliRunner().invoke(cli, ["history", "https://x.test/none", "--db", str(db)])
    assert result.exit_code == 1 and "no archived article" in result.output
    result = CliRunner().invoke(cli, ["duplicates", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no archive at" in result.output
