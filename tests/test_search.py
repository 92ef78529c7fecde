"""Chinese full-text search: the jieba-segmented index, `newsarchive search`, index upkeep."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from browse_data import REFERENCE_TITLE, build_archive, other_articles
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import open_archive
from archive.fts import (
    FTS_TABLE,
    HL_CLOSE,
    HL_OPEN,
    SEP,
    SUB,
    index_article,
    rebuild_index,
    search,
    segment,
    snippet,
    to_match,
    tokenizer,
    unsegment,
    words,
)
from archive.store import ArchiveWriter, FetchedPage
from archive.textfold import _nfkc, fold
from newsarchive.cli import cli

MARATHON_TITLE = other_articles()["marathon"][1]["title"]
TESLA_TITLE = other_articles()["tesla"][1]["title"]
UNDATED_TITLE = other_articles()["undated"][1]["title"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "archive.db"
    build_archive(path)
    return path


def run_search(archive: Path, *args: str) -> tuple[list[str], str]:
    """`newsarchive search` through click: the hit titles in order, and the whole output."""
    result = CliRunner().invoke(cli, ["search", *args, "--db", str(archive)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    titles = [line.split(". ", 1)[1] for line in lines if line[:1].isdigit()]
    return [t.replace("[", "").replace("]", "") for t in titles], result.stdout


def titles_of(hits: list[dict]) -> list[str]:
    return [hit["title"] for hit in hits]


# The index and the query are segmented alike -----------------------------------------

def test_two_character_words_are_found(archive: Path) -> None:
    assert run_search(archive, "乌镇")[0] == [REFERENCE_TITLE]
    # 桐乡 is in both; newest first: the marathon (16 Nov) before the reference (14 Nov).
    assert run_search(archive, "桐乡")[0] == [MARATHON_TITLE, REFERENCE_TITLE]


def test_longer_words_and_phrases_are_found(archive: Path) -> None:
    assert run_search(archive, "智能网联汽车")[0] == [REFERENCE_TITLE]
    assert run_search(archive, "国际互联网小镇")[0] == [REFERENCE_TITLE]
    assert run_search(archive, '"乌镇之光"')[0] == [REFERENCE_TITLE]
    # The undated article sorts by when it was first seen (16 Nov).
    assert run_search(archive, "人工智能")[0] == [UNDATED_TITLE, REFERENCE_TITLE]


def test_english_words_are_found_in_any_case(archive: Path) -> None:
    assert run_search(archive, "Tesla")[0] == [TESLA_TITLE]
    assert run_search(archive, "gigafactory")[0] == [TESLA_TITLE]
    # "AI" stands inside Chinese text in the reference article: 让AI真正融入.
    assert run_search(archive, "ai")[0] == [REFERENCE_TITLE]


def test_all_words_must_occur(archive: Path) -> None:
    assert run_search(archive, "桐乡", "马拉松")[0] == [MARATHON_TITLE]
    assert run_search(archive, "乌镇", "马拉松")[0] == []


def test_a_word_finds_longer_words_holding_it_but_not_a_non_word(archive: Path) -> None:
    assert run_search(archive, "互联")[0] == [REFERENCE_TITLE]  # in 互联网
    assert run_search(archive, "镇互")[0] == []  # characters, not a word


def test_filters_and_limit(archive: Path) -> None:
    assert run_search(archive, "桐乡", "--since", "2025-11-15")[0] == [MARATHON_TITLE]
    assert run_search(archive, "桐乡", "--source", "netease-dy")[0] == [REFERENCE_TITLE]
    assert run_search(archive, "桐乡", "--limit", "1")[0] == [MARATHON_TITLE]
    result = CliRunner().invoke(cli, ["search", "桐乡", "--since", "14 Nov", "--db", str(archive)])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_snippet_is_unsegmented_and_highlighted(archive: Path) -> None:
    _, output = run_search(archive, "乌镇")
    assert "发布活动暨[乌镇]互联网文化集聚区启动仪式在桐乡[乌镇]云舟宾客中心" in output
    assert SEP not in output and SUB not in output and HL_OPEN not in output
    assert "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html" in output
    _, output = run_search(archive, "智能网联汽车")
    assert "桐乡以[智能网联汽车]为引擎" in output  # the title, highlighted


def test_no_match_and_odd_queries_are_not_errors(archive: Path) -> None:
    for query in ["没有这个词", "OR", "NOT", "*", '"', "(", "title:乌镇", "-", "。"]:
        result = CliRunner().invoke(cli, ["search", query, "--db", str(archive)])
        assert result.exit_code == 0, (query, result.output)
    result = CliRunner().invoke(cli, ["search", "没有这个词", "--db", str(archive)])
    assert "nothing matches" in result.stderr


def test_missing_archive_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "乌镇", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no archive at" in result.output


def test_jieba_loads_quietly(archive: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from newsarchive.cli import main; main()",
         "search", "乌镇", "--db", str(archive)],
        capture_output=True, text=True, check=True)
    assert REFERENCE_TITLE in done.stdout
    assert "Building prefix dict" not in done.stderr
    assert "Loading model" not in done.stderr
    assert tokenizer() is tokenizer()


# Segmentation round trip and query safety --------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
chinese = st.text(st.sampled_from("乌镇桐乡智能网联汽车国际互联网小镇的了在 ,。\nAIai3"),
                  max_size=40)


# The segmenter: rjieba held to jieba's own cut (archive.fts.words) ---------------------

def _jieba_cut(text: str) -> list[str]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return list(jieba.cut(text))


# Chinese with latin runs joined by - . _ %, digits with decimals, characters jieba does
# not segment (CJK extension A, full-width digits, circled numbers), spaces and breaks:
# where jieba-rs and jieba part ways unless archive.fts.words mends it.
mixed = st.lists(st.sampled_from(list("乌镇桐乡智能网联汽车互联网小镇的了在是新冠股")
                                 + list("aAbZ09.-_%+#&,，。 \n\t\u3000")
                                 + ["\r\n", "㐀", "\u9fd6", "é", "２", "①", "€"]),
                 max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, chinese, mixed))
def test_words_are_jiebas_words(text: str) -> None:
    assert words(text) == _jieba_cut(text)


def test_words_are_jiebas_words_on_real_texts() -> None:
    samples = ["吉林欧亚置业注册资本由7000万元增加到5亿元，实现净利润-139.13万元。",
               "新一网（08008.HK）的“think-drink”效应: Democrats re-elected a so-called "
               "all-electric ID.3 in Delhi-NCR at 6.99-a-month, 71.6million 12.9bn U.S. "
               "www.autoracing.com.br goo.gl/x a.m. baking_maniac 2018.04.05 50% C++ C#"]
    for case in sorted((Path(__file__).parent / "fixtures").glob("*/*/truth.json")):
        truth = json.loads(case.read_text("utf-8"))
        samples += [truth.get("title") or "", truth.get("text") or ""]
    for text in samples:
        assert words(text) == _jieba_cut(text), text[:60]


@settings(max_examples=150, deadline=None)
@given(st.one_of(texts, chinese))
def test_unsegment_gives_back_the_folded_original(text: str) -> None:
    cleaned = "".join(ch for ch in text if ch not in (SEP, SUB, HL_OPEN, HL_CLOSE))
    back = unsegment(segment(text))
    assert back == fold(cleaned)
    assert len(back) == len(cleaned)  # so highlights land on the original (textfold.restore)


def test_the_fold_changes_each_character_as_nfkc_does_alone() -> None:
    """The fold finds the characters it changes with a pattern built from Unicode's
    tables: on every character of the BMP and a sample of the astral planes, it gives
    what NFKC gives for the character alone, or the character where NFKC's is longer."""
    def alone(ch: str) -> str:
        folded = unicodedata.normalize("NFKC", ch)
        return folded if len(folded) == 1 else ch

    for plane in (range(0x80, 0xD800), range(0xE000, 0x10000), range(0x10000, 0x110000, 5)):
        text = "".join(map(chr, plane))
        assert _nfkc(text) == "".join(map(alone, text))
    assert fold("ＡＩ：烏鎮，“峰會”…ﬁ") == "AI:乌镇,“峰会”…ﬁ"


@settings(max_examples=150, deadline=None)
@given(st.one_of(texts, chinese))
def test_any_query_is_a_valid_match_expression(query: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"create virtual table {FTS_TABLE} using fts5(title, text)")
    conn.execute(f"insert into {FTS_TABLE} values (?, ?)", [segment("乌镇"), segment(query)])
    conn.execute(f"select * from {FTS_TABLE} where {FTS_TABLE} match ?",
                 [to_match(query)]).fetchall()


def test_a_text_finds_itself() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"create virtual table {FTS_TABLE} using fts5(title, text)")
    text = "世界互联网大会乌镇峰会十周年系列重要活动之一"
    conn.execute(f"insert into {FTS_TABLE} values ('', ?)", [segment(text)])
    for query in [text, "乌镇峰会", "十周年", "互联网大会"]:
        assert conn.execute(f"select count(*) from {FTS_TABLE} where {FTS_TABLE} match ?",
                            [to_match(query)]).fetchone()[0] == 1, query


def test_snippet_window_keeps_highlights_balanced() -> None:
    text = "第一句。" + "很长的" * 40 + HL_OPEN + "乌镇" + HL_CLOSE + "之后" * 60
    cut = snippet(text, width=30)
    assert cut.startswith("…") and cut.endswith("…")
    assert cut.count(HL_OPEN) == cut.count(HL_CLOSE) == 1
    assert len(cut.replace(HL_OPEN, "").replace(HL_CLOSE, "")) <= 32
    assert snippet(HL_OPEN + "乌镇" + "之后" * 60, width=5).endswith(HL_CLOSE + "…")


# The index stays in step with the articles -------------------------------------------

def _page(url: str) -> FetchedPage:
    return FetchedPage(url=url, final_url=url, status=200, headers={}, body=b"<html></html>",
                       fetched_at="2025-11-17T00:00:00+00:00")


def test_index_follows_inserts_and_revisions(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    build_archive(path)
    db = open_archive(path)
    writer = ArchiveWriter(db)
    source, article = other_articles()["marathon"]
    assert titles_of(search(db, "全程马拉松")) == []
    revised = {**article, "text": article["text"] + "\n本届赛事首次设立全程马拉松项目。"}
    assert writer.store(None, source, _page(article["url"]), revised, revisit=True) == "revised"
    assert titles_of(search(db, "全程马拉松")) == [MARATHON_TITLE]
    # The edit dropped a word: the index forgets it.
    edited = {**revised, "text": revised["text"].replace("田园", "湿地")}
    assert writer.store(None, source, _page(article["url"]), edited, revisit=True) == "revised"
    assert titles_of(search(db, "田园")) == []
    assert titles_of(search(db, "湿地")) == [MARATHON_TITLE]


def test_index_article_after_reextraction_and_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    ids = build_archive(path)
    db = open_archive(path)
    # What a re-extraction does: rewrite the row, then re-index it in the same transaction.
    with db.atomic():
        before = db["articles"].get(ids["tesla"])
        db["articles"].update(ids["tesla"], {"title": "Model Y 焕新版上市"})
        # Contentless index: it is told what the row was indexed with.
        with pytest.raises(ValueError, match="previous"):
            index_article(db, ids["tesla"])
        index_article(db, ids["tesla"], previous=(before["title"], before["text"]))
    # The old title's words are forgotten, the new one's found, in the title column.
    def in_titles(word: str) -> list[tuple[int]]:
        return db.execute(f"select rowid from {FTS_TABLE} where {FTS_TABLE} match ?",
                          [f"title : {to_match(word)}"]).fetchall()

    assert in_titles("扩产") == [] and in_titles("焕新版") == [(ids["tesla"],)]
    assert titles_of(search(db, "焕新版")) == ["Model Y 焕新版上市"]
    assert titles_of(search(db, "Gigafactory")) == ["Model Y 焕新版上市"]  # still in the body
    with db.atomic():
        db.execute(f"insert into {FTS_TABLE} ({FTS_TABLE}) values ('delete-all')")
    assert search(db, "乌镇") == []
    assert rebuild_index(db) == 4
    assert titles_of(search(db, "乌镇")) == [REFERENCE_TITLE]


def test_migration_indexes_articles_already_archived(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    build_archive(path)
    db = open_archive(path)
    with db.atomic():  # back to the schema before full-text search
        db.execute(f"drop table {FTS_TABLE}")
        db.execute("delete from _migrations where name = 'm003_articles_fts'")
    db.close()
    db = open_archive(path)
    assert titles_of(search(db, "乌镇")) == [REFERENCE_TITLE]
    assert db.execute(f"select count(*) from {FTS_TABLE}").fetchone()[0] == 4


def test_the_search_index_merges_64_segments_at_a_time(tmp_path: Path) -> None:
    """m010: fewer levels of segments, so less merge work at each insert (every other
    test here searches archives built so)."""
    db = open_archive(tmp_path / "a.db")
    merging = dict(db.execute("select k, v from articles_fts_config "
                              "where k in ('automerge', 'crisismerge')").fetchall())
    assert merging == {"automerge": 64, "crisismerge": 64}
