"""Shared test fixtures: the sample site on 127.0.0.1 and a way to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.store import ArchiveWriter, FetchedPage
from newsarchive.demo.samplesite import SampleSite, serve_sample_site
from pipelines.dedup import fingerprint
from pipelines.types import Article

FIXTURES = Path(__file__).parent / "fixtures"


def article_cases() -> list[Path]:
    """Every article fixture directory (those with hand-made ground truth)."""
    return sorted(p.parent for p in FIXTURES.glob("*/*/truth.json"))


def load_json(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture
def sample_site() -> Iterator[SampleSite]:
    """The fixture tree served on a free port of 127.0.0.1 for one test."""
    with serve_sample_site() as site:
        yield site


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `newsarchive ARGS` in a child process, as a user would (a crawl needs its own
    process: Twisted's reactor cannot be restarted)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "newsarchive", *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def make_article(url: str, text: str = "第一段。\n第二段。", **extra: object) -> Article:
    article: Article = {
        "url": url, "canonical_url": url, "title": "标题", "author": "作者",
        "publisher": "网易号", "published_at": "2025-11-14T07:16:49+08:00",
        "published_date_only": False, "text": text,
        "images": [], "lang": "zh", "site": "163.com", "profile": "netease",
        "template": "post2020",
    }
    article.update(extra)  # type: ignore[typeddict-item]
    return article


def make_page(url: str, body: bytes = b"<html>raw</html>") -> FetchedPage:
    return FetchedPage(url=url, final_url=url, status=200,
                       headers={"Content-Type": "text/html"}, body=body,
                       fetched_at="2025-11-14T09:00:00+00:00")


def truth_text(case: str) -> str:
    """The hand-made ground-truth body of a fixture case ("netease/dy-repost")."""
    return load_json(FIXTURES / case / "truth.json")["text"]


def store_text(writer: ArchiveWriter, url: str, text: str) -> str:
    """Store an article of this text at this URL, fingerprinted as a crawl would."""
    return writer.store(None, "s", make_page(url), make_article(url, text=text),
                        fingerprint=fingerprint(text))
