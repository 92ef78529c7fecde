"""`newsarchive extract` on several HTML files and on WARC files."""

from __future__ import annotations

import gzip
import json
from io import BytesIO
from pathlib import Path

from click.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import article_cases, load_json
from newsarchive.cli import cli
from pipelines.pagefiles import is_warc, saved_pages


def _response(writer: WARCWriter, url: str, body: bytes, status: str = "200 OK",
              content_type: str = "text/html; charset=utf-8") -> None:
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    record = writer.create_warc_record(url, "response", payload=BytesIO(body),
                                       length=len(body), http_headers=headers)
    writer.write_record(record)


def _warc(path: Path, cases: list[Path], gzipped: bool = True) -> list[str]:
    """A WARC holding the fixture `cases` plus records that are not pages; their URLs."""
    urls = []
    with path.open("wb") as file:
        writer = WARCWriter(file, gzip=gzipped)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        for case in cases:
            response = load_json(case / "response.json")
            urls.append(response["url"])
            _response(writer, response["url"], (case / "page.html").read_bytes(),
                      content_type=response["headers"]["Content-Type"])
        _response(writer, "https://www.163.com/missing.html", b"<p>gone</p>", "404 Not Found")
        _response(writer, "https://www.163.com/logo.png", b"\x89PNG", content_type="image/png")
        get = b"GET / HTTP/1.1\r\n\r\n"
        request = writer.create_warc_record("https://www.163.com/", "request",
                                            payload=BytesIO(get), length=len(get))
        writer.write_record(request)
    return urls


def test_saved_pages_reads_html_responses_of_a_warc(tmp_path: Path) -> None:
    cases = article_cases()[:2]
    for gzipped in (True, False):
        warc = tmp_path / f"crawl.warc{'.gz' if gzipped else ''}"
        urls = _warc(warc, cases, gzipped)
        assert is_warc(warc)
        pages = list(saved_pages(warc))
        assert [p.url for p in pages] == urls  # no 404, image, request or warcinfo
        assert pages[0].body == (cases[0] / "page.html").read_bytes()
        assert pages[0].content_type and pages[0].fetched_at


def test_saved_pages_reads_plain_and_gzipped_html(tmp_path: Path) -> None:
    page = article_cases()[0] / "page.html"
    zipped = tmp_path / "page.html.gz"
    zipped.write_bytes(gzip.compress(page.read_bytes()))
    for path in (page, zipped):
        assert not is_warc(path)
        [saved] = saved_pages(path)
        assert saved.body == page.read_bytes() and saved.url is None


def test_one_html_file_prints_one_indented_object() -> None:
    case = article_cases()[0]
    url = load_json(case / "response.json")["url"]
    result = CliRunner().invoke(cli, ["extract", str(case / "page.html"), "--url", url])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("{\n")
    article = json.loads(result.stdout)
    assert article["url"] == url
    assert article["title"] == load_json(case / "truth.json")["title"]


def test_warc_and_html_files_print_one_json_line_per_page(tmp_path: Path) -> None:
    cases = article_cases()
    warc = tmp_path / "crawl.warc.gz"
    urls = _warc(warc, cases)
    html = cases[0] / "page.html"
    result = CliRunner().invoke(cli, ["extract", str(warc), str(html)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(cases) + 1
    articles = [json.loads(line) for line in lines]
    assert [a["url"] for a in articles] == [*urls, html.resolve().as_uri()]
    for case, article in zip(cases, articles, strict=False):
        assert article["title"] == load_json(case / "truth.json")["title"]


def test_a_page_without_an_article_is_reported_and_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body></body></html>", "utf-8")
    result = CliRunner().invoke(cli, ["extract", str(empty), str(article_cases()[0] / "page.html")])
    assert result.exit_code == 1
    assert "empty.html" in result.stderr and "no article found" in result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_one_url_cannot_name_several_html_files() -> None:
    pages = [str(case / "page.html") for case in article_cases()[:2]]
    result = CliRunner().invoke(cli, ["extract", *pages, "--url", "https://www.163.com/a.html"])
    assert result.exit_code == 2
    assert "--url" in result.output
