"""Watchlists: [[watch]] seeds, Traditional/Simplified search, matching in the store
transaction, feeds, and the `newsarchive watch` commands, on real archives in tmp_path.

Delivery (SMTP, webhooks, retries, a killed crawl) is in test_watch_delivery.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import feedparser
import httpx
import pytest
import yaml
from browse_data import REFERENCE_TITLE, build_archive, reference_article
from click.testing import CliRunner
from datasette.app import Datasette

import archive.textfold
from archive import open_archive
from archive.datasette_plugin import METADATA_FILE
from archive.fts import rebuild_index, search
from archive.store import ArchiveWriter
from archive.watches import WatchRow, load_watches, watch_matches
from conftest import make_article, make_page
from crawler.seeds import SeedsError, load_seeds
from crawler.seeds import load_watches as seeds_watches
from newsarchive.cli import cli
from newsarchive.watch.delivery import due, period_start, sync_from_seeds
from newsarchive.watch.feed import watch_feed

SOURCE = """
[[source]]
name = "netease-money"
start_urls = ["https://money.163.com/"]
allow = ['^https://www\\.163\\.com/']
"""
WATCH = """
[[watch]]
name = "longhu"
query = '龙湖集团 OR "龙湖地产" -招聘'
sources = ["netease-money"]
events = ["new", "edited", "removed"]
notify = ["mailto://user:pass@smtp.example.com", "json://hooks.example.com/in"]
digest = "daily 08:00"
"""
# 烏鎮 in Traditional script, and an article written in Traditional script.
TRADITIONAL_ARTICLE = make_article(
    "https://www.163.com/dy/article/TRADITION01.html",
    title="龍湖集團公佈年度業績",
    text="龍湖集團今日於香港公佈年度業績。\n集團表示將繼續發展智能網聯汽車業務。")


def write_seeds(tmp_path: Path, text: str) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / "a.toml").write_text(text, "utf-8")
    return seeds


# Seeds ---------------------------------------------------------------------------------

def test_a_watch_in_the_seeds(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path, SOURCE + WATCH + '[[watch]]\nname = "wz"\nquery = "乌镇"\n')
    longhu, wz = seeds_watches(seeds)
    assert longhu.query == '龙湖集团 OR "龙湖地产" -招聘'
    assert longhu.sources == ("netease-money",)
    assert longhu.events == ("new", "edited", "removed")
    assert longhu.digest == "daily 08:00" and len(longhu.notify) == 2
    assert (wz.sources, wz.events, wz.notify, wz.digest) == (None, ("new",), (), "every run")
    assert [s.name for s in load_seeds(seeds)] == ["netease-money"]


@pytest.mark.parametrize(("change", "line", "key", "message"), [
    (("digest = \"daily 08:00\"", "digest = \"weekly\""), 13, "digest", "not 'every run'"),
    (("events = [\"new\", \"edited\", \"removed\"]", "events = [\"new\", \"deleted\"]"), 11,
     "events", "unknown event 'deleted'"),
    (("json://hooks.example.com/in", "json://"), 12, "notify", "not a notify URL"),
    (("json://hooks.example.com/in", "nosuchscheme://x"), 12, "notify", "not a notify URL"),
    (("sources = [\"netease-money\"]", "sources = [\"netease-mony\"]"), 10, "sources",
     "unknown source 'netease-mony'"),
    (("digest = ", "digst = "), 13, "digst", "unknown key"),
    (("query = '龙湖集团 OR \"龙湖地产\" -招聘'", "query = '-招聘'"), 9, "query",
     "at least one word"),
])
def test_a_bad_watch_names_file_line_watch_and_key(
        tmp_path: Path, change: tuple[str, str], line: int, key: str, message: str) -> None:
    seeds = write_seeds(tmp_path, SOURCE + WATCH.replace(*change))
    with pytest.raises(SeedsError) as caught:
        load_seeds(seeds)  # a crawl stops at once, not at the first match
    text = str(caught.value)
    assert text.startswith(f"{seeds / 'a.toml'}:{line}, watch 'longhu', key '{key}': "), text
    assert message in text
    assert "pass" not in text  # a notify URL's password is never printed


def test_watch_names_are_unique_across_files(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path, SOURCE + WATCH)
    (seeds / "b.toml").write_text('[[watch]]\nname = "longhu"\nquery = "龙湖"\n', "utf-8")
    with pytest.raises(SeedsError, match=r"b\.toml:2, watch 'longhu', key 'name': duplicate"):
        load_seeds(seeds)


# Search: one language in two scripts, OR and -NOT --------------------------------------

@pytest.fixture
def folded_archive(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    build_archive(path, extra={"traditional": ("netease-money", TRADITIONAL_ARTICLE)})
    return path


def titles(db: sqlite3.Connection | object, query: str) -> set[str]:
    return {hit["title"] for hit in search(db, query)}


def test_either_script_finds_both(folded_archive: Path) -> None:
    db = open_archive(folded_archive)
    assert REFERENCE_TITLE in titles(db, "烏鎮")  # Traditional query, Simplified article
    assert titles(db, "龙湖集团") == {"龍湖集團公佈年度業績"}  # and the reverse
    assert titles(db, "龍湖") == titles(db, "龙湖")
    both = titles(db, "智能網聯汽車")
    assert {REFERENCE_TITLE, "龍湖集團公佈年度業績"} <= both
    assert titles(db, "ＴＥＳＬＡ") == titles(db, "tesla") != set()  # full-width folded too


def test_highlights_stay_on_the_original_script(folded_archive: Path) -> None:
    db = open_archive(folded_archive)
    (hit,) = search(db, "龙湖 业绩")
    assert hit["title_marked"] == "\ue000龍湖\ue001集團公佈年度\ue000業績\ue001"
    assert "\ue000龍湖\ue001集團今日" in hit["snippet"]


def test_or_and_not(folded_archive: Path) -> None:
    db = open_archive(folded_archive)
    marathon = "桐乡马拉松鸣枪开跑,两万名跑者参赛"
    assert marathon in titles(db, "马拉松 OR 龙湖")
    assert "龍湖集團公佈年度業績" in titles(db, "马拉松 OR 龙湖")
    assert titles(db, "桐乡 -马拉松") == titles(db, "桐乡") - {marathon}
    assert titles(db, '龙湖 -"年度业绩"') == set()
    assert titles(db, "-桐乡") == set()  # nothing to look for: nothing found


def test_search_cli_finds_the_reference_by_its_traditional_name(folded_archive: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "烏鎮", "--db", str(folded_archive)])
    assert result.exit_code == 0, result.output
    assert REFERENCE_TITLE in result.output
    assert "[乌镇]" in result.output  # marked, in the article's own script


def test_datasette_search_box_folds_too(folded_archive: Path) -> None:
    meta = yaml.safe_load(METADATA_FILE.read_text("utf-8"))

    async def run() -> list[httpx.Response]:
        datasette = Datasette([str(folded_archive)], metadata=meta)
        return [await datasette.client.get(
            "/archive/articles.json?_shape=array&_col=title&_search=" + query)
            for query in ("烏鎮", "龙湖集团")]

    wuzhen, longhu = asyncio.run(run())
    assert REFERENCE_TITLE in [row["title"] for row in wuzhen.json()]
    assert [row["title"] for row in longhu.json()] == ["龍湖集團公佈年度業績"]


def test_the_migration_reindexes_an_existing_archive(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "archive.db"
    build_archive(path, extra={"traditional": ("netease-money", TRADITIONAL_ARTICLE)})
    db = open_archive(path)
    with monkeypatch.context() as patched:  # the index as it was before folding
        patched.setattr(archive.textfold, "fold", lambda text: text)
        patched.setattr("archive.fts.fold", lambda text: text)
        rebuild_index(db)
        db.execute("delete from _migrations where name = 'm013_search_folding'")
        db.conn.commit()
    assert titles(db, "龙湖集团") == set()
    db.close()
    assert titles(open_archive(path), "龙湖集团") == {"龍湖集團公佈年度業績"}


# Matching where the article is stored --------------------------------------------------

def watch_archive(tmp_path: Path, *watches: WatchRow) -> ArchiveWriter:
    db = open_archive(tmp_path / "archive.db")
    from archive.watches import sync_watches

    sync_watches(db, watches)
    return ArchiveWriter(db)


def test_matched_in_the_store_transaction(tmp_path: Path) -> None:
    writer = watch_archive(tmp_path, WatchRow("longhu", '龙湖集团 OR "龙湖地产" -招聘',
                                              events=("new", "edited", "removed")),
                           WatchRow("money", "龙湖", sources=("netease-money",)))
    url = TRADITIONAL_ARTICLE["url"]
    assert writer.store(None, "netease-money", make_page(url), TRADITIONAL_ARTICLE) == "new"
    hiring = make_article("https://x.test/hiring", title="龙湖集团招聘",
                          text="龙湖集团招聘工程师。")
    writer.store(None, "netease-news", make_page(hiring["url"]), hiring)
    edited = {**TRADITIONAL_ARTICLE, "text": TRADITIONAL_ARTICLE["text"] + "\n補充。"}
    assert writer.store(None, "netease-money", make_page(url), edited, revisit=True) == "revised"
    assert writer.store(None, "netease-money", make_page(url), edited, revisit=True) \
        == "unchanged"
    writer.mark_removed(None, url, "HTTP 404")
    writer.mark_removed(None, url, "HTTP 404")  # already removed: no second event
    events = [(m["event"], m["version"]) for m in watch_matches(writer.db, "longhu")]
    assert sorted(events) == [("edited", 2), ("new", 1), ("removed", 2)]
    assert [m["event"] for m in watch_matches(writer.db, "money")] == ["new"]  # its events


def test_a_store_that_fails_leaves_no_match(tmp_path: Path) -> None:
    writer = watch_archive(tmp_path, WatchRow("wz", "乌镇", targets=()))
    broken = make_article("https://x.test/broken", text="乌镇")
    broken["canonical_url"] = None  # type: ignore[typeddict-item]  # violates NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        writer.store(None, "s", make_page(broken["url"]), broken)
    assert writer.db.execute("select count(*) from matches").fetchone()[0] == 0


def test_a_watch_matches_what_search_finds(folded_archive: Path) -> None:
    db = open_archive(folded_archive)
    queries = ["烏鎮", "龙湖 OR 马拉松", "桐乡 -马拉松", '"国际互联网小镇"', "Tesla", "ＡＩ",
               "人工智能 OR 龍湖 -大会"]
    sync_from_seeds(db, [])
    from archive.watches import sync_watches

    sync_watches(db, [WatchRow(f"q{i}", q) for i, q in enumerate(queries)])
    writer = ArchiveWriter(db)
    for article_id, source in db.execute("select id, source from articles").fetchall():
        with db.conn:
            writer.watches.match(article_id, source, "new")
    for i, query in enumerate(queries):
        found = {m["article_id"] for m in watch_matches(db, f"q{i}")}
        assert found == {hit["id"] for hit in search(db, query, limit=100)}, query


# Digest periods -------------------------------------------------------------------------

def test_digest_periods() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 11, 14, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    assert period_start("every run", now) is None
    assert period_start("hourly", now).isoformat() == "2025-11-14T09:00:00+08:00"
    assert period_start("daily 08:00", now).isoformat() == "2025-11-14T08:00:00+08:00"
    assert period_start("daily 10:00", now).isoformat() == "2025-11-13T10:00:00+08:00"
    rows = [{"matched_at": "2025-11-13T23:59:00+00:00"},  # 07:59 Beijing: before 08:00
            {"matched_at": "2025-11-14T00:30:00+00:00"},  # 08:30 Beijing
            {"matched_at": "2025-11-14T01:10:00+00:00"}]  # 09:10 Beijing
    assert due(rows, "every run", now) == rows
    assert due(rows, "daily 08:00", now) == rows[:1]
    assert due(rows, "hourly", now) == rows[:2]


# Feeds and commands ---------------------------------------------------------------------

@pytest.fixture
def matched(tmp_path: Path) -> tuple[Path, Path]:
    """(seeds dir, archive) with watch 'wz' having matched two articles."""
    seeds = write_seeds(tmp_path, SOURCE + '[[watch]]\nname = "wz"\nquery = "烏鎮"\n')
    path = tmp_path / "archive.db"
    db = open_archive(path)
    sync_from_seeds(db, seeds_watches(seeds))
    db.close()
    build_archive(path)  # stored through ArchiveWriter: matched as a crawl would
    return seeds, path


def test_feed_is_atom_newest_first(matched: tuple[Path, Path]) -> None:
    _, path = matched
    result = CliRunner().invoke(cli, ["feed", "wz", "--db", str(path)])
    assert result.exit_code == 0, result.output
    parsed = feedparser.parse(result.stdout_bytes)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.title == "newsarchive watch wz: 烏鎮"
    rows = watch_matches(open_archive(path), "wz")
    assert [e.id for e in parsed.entries] == [
        f"urn:newsarchive:watch:wz:{r['article_id']}:new:1" for r in rows]
    reference = next(e for e in parsed.entries if e.title == REFERENCE_TITLE)
    assert reference.link == reference_article()["url"]
    assert reference.published.startswith("2025-11-14T07:16:49")
    assert "<b>乌镇</b>" in reference.summary
    again = CliRunner().invoke(cli, ["feed", "wz", "--db", str(path)])
    assert again.stdout_bytes == result.stdout_bytes  # stable ids, stable document


def test_feed_route_in_datasette(matched: tuple[Path, Path]) -> None:
    _, path = matched

    async def run() -> list[httpx.Response]:
        datasette = Datasette([str(path)])
        return [await datasette.client.get(u) for u in ("/-/watch/wz.atom",
                                                        "/-/watch/nope.atom")]

    found, missing = asyncio.run(run())
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("application/atom+xml")
    assert [e.title for e in feedparser.parse(found.content).entries] == \
        [e.title for e in feedparser.parse(watch_feed(open_archive(path), "wz")).entries]
    assert missing.status_code == 404 and "no watch 'nope'" in missing.text


def test_watch_commands(matched: tuple[Path, Path]) -> None:
    seeds, path = matched
    args = ["--db", str(path), "--seeds", str(seeds)]
    listed = CliRunner().invoke(cli, ["watch", "list", *args])
    assert listed.exit_code == 0, listed.output
    assert "wz  烏鎮\n" in listed.output and "notify  (feed only" in listed.output
    assert "matches 1 · owed 0 · last sent never · failed attempts 0" in listed.output
    tested = CliRunner().invoke(cli, ["watch", "test", "wz", *args])
    assert REFERENCE_TITLE in tested.output and "nothing was sent" in tested.output
    lines = CliRunner().invoke(cli, ["watch", "matches", "wz", "--json", "--db", str(path)])
    rows = [json.loads(line) for line in lines.stdout.splitlines()]
    assert REFERENCE_TITLE in [row["title"] for row in rows]
    assert {row["event"] for row in rows} == {"new"}
    none = CliRunner().invoke(cli, ["watch", "matches", "wz", "--since", "2999-01-01",
                                    "--json", "--db", str(path)])
    assert none.stdout == ""
    unknown = CliRunner().invoke(cli, ["watch", "test", "nope", *args])
    assert unknown.exit_code == 2 and "unknown watch 'nope' (known: wz)" in unknown.output


def test_the_archive_keeps_no_notify_url(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path, SOURCE + WATCH)
    db = open_archive(tmp_path / "archive.db")
    sync_from_seeds(db, seeds_watches(seeds))
    (row,) = load_watches(db)
    assert [t.label for t in row.targets] == ["mailto://smtp.example.com",
                                              "json://hooks.example.com"]
    dump = "\n".join(db.conn.iterdump())
    assert "pass@" not in dump and "/in" not in dump


def test_feed_of_an_article_dated_by_day_alone(tmp_path: Path) -> None:
    writer = watch_archive(tmp_path, WatchRow("wz", "乌镇"))
    article = make_article("https://x.test/day", text="乌镇的一天。",
                           published_at="2019-06-12", published_date_only=True)
    writer.store(None, "s", make_page(article["url"]), article)
    parsed = feedparser.parse(watch_feed(writer.db, "wz"))
    assert not parsed.bozo and [e.link for e in parsed.entries] == ["https://x.test/day"]
    assert "published" not in parsed.entries[0]  # no instant invented for a day
