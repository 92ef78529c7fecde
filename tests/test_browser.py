"""A real browser on `newsarchive serve`: type 乌镇 into the articles search box, see the article.

Headless Debian chromium (/usr/bin/chromium, installed by .ci/install-browser) driven by
Playwright for Python. Screenshots go to test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browse_data import REFERENCE_TITLE, build_archive, other_articles, serving

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Headless, and no traffic of the browser's own (updates, sync, field trials): only 127.0.0.1.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; installed once per session when missing, else the tests skip."""
    if not CHROMIUM.exists():
        done = subprocess.run(["bash", str(ROOT / ".ci" / "install-browser")],
                              capture_output=True, text=True, timeout=900, check=False)
        if not CHROMIUM.exists():
            pytest.skip(f"no {CHROMIUM}, and .ci/install-browser could not install it "
                        f"(exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is in the test extra: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("browser") / "archive.db"
    build_archive(path)
    with serving(path) as base:
        yield base


def test_typing_wuzhen_in_the_search_box_finds_the_reference_article(browser: Any,
                                                                      site: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page.goto(f"{site}/archive/articles")
        expect(page.locator("h1")).to_contain_text("articles")
        search_box = page.locator("input[name=_search]")
        search_box.fill("乌镇")
        search_box.press("Enter")
        page.wait_for_url(re.compile(r"_search=%E4%B9%8C%E9%95%87"))
        table = page.locator("table.rows-and-columns")
        expect(table).to_contain_text(REFERENCE_TITLE)
        assert other_articles()["marathon"][1]["title"] not in table.inner_text()
        expect(page.locator("body")).to_contain_text("1 row where search matches")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-search-wuzhen.png"), full_page=True)
        # The original URL is a link.
        link = table.locator('a[href="https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"]')
        expect(link.first).to_be_visible()
        # The body is previewed in a few lines on the table page.
        preview = table.locator("td.col-text .article-text").first.bounding_box()
        assert preview is not None and preview["height"] < 200
    finally:
        page.close()


def test_article_page_shows_the_body_paragraph_by_paragraph(browser: Any, site: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page.goto(f"{site}/archive/articles/1")
        body = page.locator("td.col-text .article-text")
        assert body.evaluate("node => getComputedStyle(node).whiteSpace") == "pre-wrap"
        # The whole body, its paragraphs stacked: far taller than the table page's preview.
        box = body.bounding_box()
        assert box is not None and box["height"] > 400
        assert "十年蝶变,见证未来" in body.inner_text()  # the last paragraph
        ARTIFACTS.mkdir(exist_ok=True)
        body.scroll_into_view_if_needed()  # the body column is right of the metadata
        page.screenshot(path=str(ARTIFACTS / "browser-article-page.png"))
    finally:
        page.close()


def test_search_canned_query_highlights_the_match(browser: Any, site: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page.goto(f"{site}/archive/search?q=智能网联汽车")
        marks = page.locator("td.col-snippet mark")
        expect(marks.first).to_have_text(re.compile("智能网联汽车"))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-search-query.png"))
    finally:
        page.close()
