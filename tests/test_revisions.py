"""Revisits: changed articles keep their history; gone articles are marked, never deleted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive import open_archive
from archive.store import ArchiveWriter
from conftest import make_article, make_page

URL = "https://www.163.com/dy/article/G33O1QTA05372UZS.html"
DELAYS = (timedelta(hours=1), timedelta(hours=6))


@pytest.fixture
def writer(tmp_path: Path) -> ArchiveWriter:
    return ArchiveWriter(open_archive(tmp_path / "a.db"), revisit_after=DELAYS)


def test_new_article_is_due_after_the_first_delay(writer: ArchiveWriter) -> None:
    writer.store(None, "s", make_page(URL), make_article(URL))
    seen = datetime.fromisoformat(make_page(URL).fetched_at)
    assert writer.due_revisits("s", seen + timedelta(minutes=59)) == []
    assert writer.due_revisits("s", seen + timedelta(hours=1)) == [URL]
    assert writer.due_revisits("other", seen + timedelta(days=9)) == []


def test_unchanged_revisit_moves_the_schedule_on_then_stops(writer: ArchiveWriter) -> None:
    writer.store(None, "s", make_page(URL), make_article(URL))
    assert writer.store(None, "s", make_page(URL), make_article(URL), revisit=True) == "unchanged"
    row = writer.db["articles"].get(1)
    assert row["revisits"] == 1 and row["version"] == 1
    assert row["next_check_at"] == "2025-11-14T15:00:00+00:00"  # first seen + 6 h
    writer.store(None, "s", make_page(URL), make_article(URL), revisit=True)
    assert writer.db["articles"].get(1)["next_check_at"] is None  # schedule done
    assert writer.db["article_versions"].count == 0


def test_edit_keeps_the_old_state_and_a_diff(writer: ArchiveWriter) -> None:
    writer.store(None, "s", make_page(URL), make_article(URL, text="第一段。\n第二段。"))
    edited = make_article(URL, text="第一段。\n第二段已更正。", title="新标题")
    assert writer.store(None, "s", make_page(URL), edited, revisit=True) == "revised"
    article = writer.db["articles"].get(1)
    assert (article["title"], article["text"], article["version"]) == (
        "新标题", "第一段。\n第二段已更正。", 2)
    [version] = writer.db["article_versions"].rows
    assert version["version"] == 1 and version["title"] == "标题"
    assert version["text"] == "第一段。\n第二段。"
    assert json.loads(version["changed_fields"]) == ["title", "text"]
    assert "-第二段。" in version["text_diff"] and "+第二段已更正。" in version["text_diff"]
    assert writer.db["articles"].count == 1


def test_removed_article_is_marked_not_deleted(writer: ArchiveWriter) -> None:
    run = writer.start_run("s")
    writer.store(run, "s", make_page(URL), make_article(URL))
    assert writer.mark_removed(run, URL, "HTTP 404")
    article = writer.db["articles"].get(1)
    assert article["status"] == "removed" and article["removed_at"]
    assert article["text"] and article["next_check_at"] is None
    assert writer.due_revisits("s", datetime.now(UTC) + timedelta(days=30)) == []
    assert writer.run_counts(run)["removed"] == 1
    assert not writer.mark_removed(run, "https://x.test/never-seen", "HTTP 404")


def test_alias_url_links_to_the_archived_article(writer: ArchiveWriter) -> None:
    writer.store(None, "s", make_page(URL), make_article(URL))
    mobile = URL.replace("www.", "m.")
    assert writer.link_url(mobile, URL)
    assert writer.is_archived(mobile)
    assert not writer.link_url("https://x.test/a", "https://x.test/unknown")
