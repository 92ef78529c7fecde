"""`newsarchive export`: every article round-trips through JSONL and CSV; memory stays flat."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from browse_data import build_archive
from click.testing import CliRunner

from archive import open_archive
from archive.export import FIELDS, export
from newsarchive.cli import cli


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "archive.db"
    build_archive(path)
    return path


def stored_articles(path: Path, where: str = "1", params: tuple = ()) -> list[dict[str, Any]]:
    db = open_archive(path)
    rows = [dict(row) for row in db.query(
        f"select * from articles where {where} order by id", params)]
    for row in rows:
        row["images"] = json.loads(row["images"])
    return [{field: row.get(field) for field in FIELDS} for row in rows]


def run_export(archive: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["export", *args, "--db", str(archive)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_jsonl_round_trips_every_article(archive: Path) -> None:
    lines = run_export(archive).splitlines()
    exported = [json.loads(line) for line in lines]
    assert exported == stored_articles(archive)
    assert len(exported) == 4
    assert all(list(row) == list(FIELDS) for row in exported)
    tesla = next(row for row in exported if row["title"].startswith("Tesla"))
    assert tesla["images"] == [{"url": "https://nimg.ws.126.net/tesla.jpg", "caption": "上海工厂"}]
    assert "\n" in exported[0]["text"]  # paragraphs kept
    assert "乌镇" in lines[0]  # UTF-8 as is, not \u escapes


def test_csv_round_trips_every_article(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "articles.csv"
    result = CliRunner().invoke(cli, ["export", "--format", "csv", "-o", str(out),
                                      "--db", str(archive)])
    assert result.exit_code == 0, result.output
    assert "exported 4 articles" in result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == FIELDS
        rows = list(reader)
    expected = [{field: "" if value is None else
                 json.dumps(value, ensure_ascii=False) if field == "images" else str(value)
                 for field, value in row.items()} for row in stored_articles(archive)]
    assert rows == expected


def test_filters(archive: Path) -> None:
    since = [json.loads(line) for line in run_export(archive, "--since", "2025-11-15").splitlines()]
    # published on or after the 15th, plus the undated article first seen on the 16th
    assert {row["title"][:5] for row in since} == {"Tesla", "桐乡马拉松", "人工智能大"}
    assert since == stored_articles(
        archive, "coalesce(published_at, first_seen_at) >= ?", ("2025-11-15",))
    tech = [json.loads(line) for line in run_export(archive, "--source", "netease-tech")
            .splitlines()]
    assert [row["source"] for row in tech] == ["netease-tech"]
    both = run_export(archive, "--source", "netease-news", "--since", "2025-11-16T07:00",
                      "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(both)))) == 1  # the undated one, seen at 10:00


def test_export_streams_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    db = open_archive(path)
    body = "乌镇互联网大会。" * 600  # ~14 KB of UTF-8 per article, ~40 MB in all
    db["articles"].insert_all(
        ({"canonical_url": f"https://www.163.com/a/{i}.html", "url": f"https://www.163.com/a/{i}.html",
          "title": f"第{i}篇", "text": body, "images": "[]", "fetched_at": "2025-11-16",
          "first_seen_at": "2025-11-16", "content_hash": str(i)} for i in range(3000)),
        batch_size=200)
    sink = _CountingSink()
    tracemalloc.start()
    try:
        count = export(db, sink, "jsonl")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3000 and sink.chars > 3000 * len(body)
    assert peak < 2_000_000, f"export held {peak:,} bytes at its peak"


class _CountingSink(io.TextIOBase):
    """A text stream that only counts what is written to it."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)
