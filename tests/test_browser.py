"""A real browser on `newsarchive serve`: the home page's search, the article reader, the
trends charts, and the articles table's own search box.

Headless Debian chromium (/usr/bin/chromium, installed by .ci/install-browser) driven by
Playwright for Python. Every request the browser makes is checked to stay on 127.0.0.1
(others are aborted and reported). Screenshots go to test-artifacts/ (gitignored) for a
human to look at; the README's are copies of them (docs/screenshots/).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browse_data import (
    HISTORY_DAYS,
    REFERENCE_DIR,
    REFERENCE_TITLE,
    TEMPLATE_CHANGE,
    add_history,
    build_archive,
    near_copy,
    other_articles,
    revise_marathon,
    serving,
)

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
    ids = build_archive(path, extracted=True, extra={"repost": ("netease-dy", near_copy())})
    assert ids["reference"] == 1 and ids["marathon"] == 3
    revise_marathon(path)
    with serving(path) as base:
        yield base


@pytest.fixture(scope="module")
def history_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same archive with two weeks of daily runs before it (browse_data.add_history)."""
    path = tmp_path_factory.mktemp("history") / "archive.db"
    build_archive(path, extracted=True, extra={"repost": ("netease-dy", near_copy())})
    add_history(path)
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
        # The reference and its repost.
        expect(page.locator("body")).to_contain_text("2 rows where search matches")
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


class LocalOnly:
    """A page whose requests beyond `base` are aborted and remembered."""

    def __init__(self, browser: Any, base: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        self.elsewhere: list[str] = []
        self.base = base
        self.page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()

    def shot(self, name: str, **options: Any) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), **options)


def test_reader_shows_the_reference_article_paragraph_by_paragraph(browser: Any,
                                                                    site: str) -> None:
    from playwright.sync_api import expect

    truth = json.loads((REFERENCE_DIR / "truth.json").read_text("utf-8"))
    tab = LocalOnly(browser, site)
    try:
        tab.page.goto(f"{site}/archive/articles/1")
        expect(tab.page.locator("article h1")).to_have_text(REFERENCE_TITLE)
        paragraphs = tab.page.locator("article .na-body > p")
        assert paragraphs.all_inner_texts() == truth["text"].splitlines()
        assert "相关推荐" not in tab.page.locator("body").inner_text()
        # A column at a reading width, not a cell 3,000 pixels wide.
        box = paragraphs.first.bounding_box()
        assert box is not None and box["width"] < 900
        tab.shot("reader.png")
        tab.page.locator(".na-details").screenshot(path=str(ARTIFACTS / "reader-details.png"))
        # Nothing was fetched from the original site; an image comes only on a click.
        assert tab.elsewhere == []
        tab.page.locator("button.na-load-image").first.click()
        expect(tab.page.locator(".na-images img").first).to_be_attached()
        assert [url for url in tab.elsewhere if "126.net" in url]
    finally:
        tab.page.close()


def test_reader_shows_an_edited_articles_diff(browser: Any, site: str) -> None:
    from playwright.sync_api import expect

    tab = LocalOnly(browser, site)
    try:
        tab.page.goto(f"{site}/archive/articles/3")
        version = tab.page.locator("details.na-version").first
        expect(version.locator("summary")).to_contain_text("Version 1 → 2")
        expect(version.locator("ins").first).to_have_text("(更新)")
        expect(version.locator(".na-ins").last).to_have_text("+ 比赛结果将于明日公布。")
        version.scroll_into_view_if_needed()
        tab.shot("reader-versions.png")
    finally:
        tab.page.close()


def test_typing_wuzhen_on_the_home_page_leads_to_highlighted_results(browser: Any,
                                                                      site: str) -> None:
    from playwright.sync_api import expect

    tab = LocalOnly(browser, site)
    try:
        tab.page.goto(f"{site}/")
        expect(tab.page.locator(".na-latest")).to_contain_text(REFERENCE_TITLE)
        expect(tab.page.locator(".na-sources")).to_contain_text("netease-dy")
        tab.shot("home.png")
        box = tab.page.locator("input[name=q]")
        box.fill("乌镇")
        box.press("Enter")
        tab.page.wait_for_url(re.compile(r"/-/search\?q=%E4%B9%8C%E9%95%87"))
        hits = tab.page.locator(".na-hit")
        expect(hits).to_have_count(2)
        expect(hits.nth(1).locator(".na-hit-title")).to_have_text(REFERENCE_TITLE)
        expect(hits.nth(1).locator(".na-snippet mark").first).to_have_text("乌镇")
        expect(tab.page.locator(".na-facets")).to_contain_text("netease-dy")
        tab.shot("search.png")
        hits.nth(1).locator(".na-hit-title").click()
        expect(tab.page.locator("article h1")).to_have_text(REFERENCE_TITLE)
        assert tab.elsewhere == []
    finally:
        tab.page.close()


def test_trends_draws_the_matches_of_wuzhen_per_day(browser: Any, site: str) -> None:
    from playwright.sync_api import expect

    tab = LocalOnly(browser, site)
    try:
        tab.page.goto(f"{site}/-/trends?q=乌镇")
        for chart in ("articles", "matches", "runs", "health"):
            expect(tab.page.locator(f"#chart-{chart} svg").first).to_be_attached()
        # Vega drew the bars: one per day and source with matches (a day, one source).
        bars = tab.page.locator("#chart-matches svg .mark-rect path")
        expect(bars).to_have_count(1)
        expect(tab.page.locator(".na-chart-hits")).to_contain_text(REFERENCE_TITLE)
        assert tab.elsewhere == []  # vega, vega-lite and vega-embed came from newsarchive
        tab.shot("trends-wuzhen.png", full_page=True)
    finally:
        tab.page.close()


def test_trends_over_two_weeks_shows_the_template_change(browser: Any,
                                                         history_site: str) -> None:
    from playwright.sync_api import expect

    tab = LocalOnly(browser, history_site)
    try:
        tab.page.goto(f"{history_site}/-/trends?q=人工智能")
        expect(tab.page.locator("#chart-matches svg .mark-rect path").first).to_be_attached()
        # The health chart: one point per run and measure; netease-tech's generic share
        # steps from 0 to 1 at its run of the history's day TEMPLATE_CHANGE.
        spec = json.loads(tab.page.locator("#chart-health script.na-spec").text_content() or "")
        generic = [row["share"] for row in spec["data"]["values"]
                   if row["source"] == "netease-tech" and row["measure"] == "generic fallback"]
        assert generic[-HISTORY_DAYS:] == (
            [0.0] * TEMPLATE_CHANGE + [1.0] * (HISTORY_DAYS - TEMPLATE_CHANGE))
        expect(tab.page.locator("#chart-health svg .mark-line path").first).to_be_attached()
        assert tab.elsewhere == []
        tab.shot("trends.png", full_page=True)
    finally:
        tab.page.close()


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
