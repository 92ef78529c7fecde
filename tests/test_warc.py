"""WARC in and out: the sample site crawled once (its crawl-time WARC kept too), exported
as WARC, checked with warcio, imported into an empty archive (the round trip), replayed
with pywb; a WARC made by `wget --warc-file` imported; broken WARCs refused with a clear
message, keeping what came before."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import open_archive
from archive.pagecodec import decompress_page
from conftest import FIXTURES, load_json, run_cli
from newsarchive.demo.demo import write_sample_seeds
from newsarchive.demo.samplesite import serve_sample_site

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = FIXTURES / "netease" / "dy-post2020-reference"
EXPECTED = load_json(REFERENCE / "expected.json")
REFERENCE_PATH = load_json(REFERENCE / "response.json")["path"]
ARTICLE_FIELDS = "canonical_url, title, author, publisher, published_at, text"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The sample site's NetEase and Sina sources crawled once, recording a crawl-time WARC:
    (archive, WARC dir). The portal pages are left out: the counts below are of these ten."""
    tmp_path = tmp_path_factory.mktemp("crawled")
    db, warc_dir = tmp_path / "archive.db", tmp_path / "crawl-warc"
    with serve_sample_site() as site:
        seeds = write_sample_seeds(site.base_url, tmp_path / "seeds")
        result = run_cli("crawl", "demo-netease", "demo-sina", "--db", str(db),
                         "--seeds", str(seeds),
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                         "-s", f"NEWSARCHIVE_WARC_DIR={warc_dir}",
                         "-s", "NEWSARCHIVE_WARC_MAX_SIZE=60000")
        assert result.returncode == 0, result.stderr[-3000:]
    yield db, warc_dir


@pytest.fixture(scope="module")
def exported(crawled: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "archive.warc.gz"
    result = run_cli("export", "--db", str(crawled[0]), "--format", "warc", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert re.search(r"exported 12 pages \(11 with an article\)", result.stderr)
    return out


def records(path: Path) -> list[dict]:
    """Every record of a WARC, read back with warcio checking digests as it goes."""
    found = []
    with path.open("rb") as file:
        iterator = ArchiveIterator(file, check_digests=True)
        for record in iterator:
            body = record.content_stream().read()
            found.append({
                "type": record.rec_type, "offset": iterator.offset,
                "headers": dict(record.rec_headers.headers),
                "version": record.rec_headers.protocol,
                "status": record.http_headers.get_statuscode() if record.http_headers else None,
                "http": record.http_headers, "body": body,
                "digest": record.digest_checker.passed,
            })
    return found


def stored_pages(db: Path) -> dict[tuple[str, str], dict]:
    """Every stored page by (final URL, fetch time): its raw body, status and headers."""
    database = open_archive(db)
    rows = database.execute("select final_url, fetched_at, status, headers, body, codec, url "
                            "from pages").fetchall()
    pages = {(r[0], r[1]): {"status": r[2], "headers": json.loads(r[3]), "url": r[6],
                            "body": decompress_page(database, (r[4], r[5]))} for r in rows}
    database.close()
    return pages


def articles(db: Path) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(
            f"select {ARTICLE_FIELDS} from articles order by canonical_url").fetchall()
    finally:
        connection.close()


def runs(db: Path) -> list[dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("select * from crawl_runs order by id")]
    finally:
        connection.close()


# Export ----------------------------------------------------------------------------------

def test_export_is_a_valid_warc_of_every_page(crawled: tuple[Path, Path], exported: Path):
    found = records(exported)
    pages = stored_pages(crawled[0])
    assert found[0]["type"] == "warcinfo"
    assert b"software: newsarchive/" in found[0]["body"]
    assert {r["version"] for r in found} == {"WARC/1.1"}
    assert all(r["digest"] is True for r in found), [r["type"] for r in found if not r["digest"]]
    responses = [r for r in found if r["type"] == "response"]
    assert len(responses) == len(pages) == 12
    by_id = {r["headers"]["WARC-Record-ID"]: r for r in found}
    for response in responses:
        url = response["headers"]["WARC-Target-URI"]
        date = response["headers"]["WARC-Date"]
        page = pages[(url, date.replace("Z", "+00:00"))]
        assert response["body"] == page["body"]  # the bytes as fetched
        assert int(response["status"]) == page["status"]
        assert "WARC-Payload-Digest" in response["headers"]
        assert "WARC-Block-Digest" in response["headers"]
        assert response["http"].get_header("Content-Type") == page["headers"]["Content-Type"]
    kinds: dict[str, list[str]] = {}
    for record in found:
        if record["type"] in ("request", "metadata"):
            concurrent = by_id[record["headers"]["WARC-Concurrent-To"]]
            assert concurrent["type"] == "response"
            kinds.setdefault(record["type"], []).append(record["headers"]["WARC-Target-URI"])
    assert len(kinds["request"]) == len(kinds["metadata"]) == 12
    [reference] = [r for r in found if r["type"] == "metadata"
                   and r["headers"]["WARC-Target-URI"].endswith(REFERENCE_PATH)]
    fields = reference["body"].decode()
    assert f"canonical-url: {EXPECTED['canonical_url']}" in fields
    assert "profile: netease" in fields and "template: post2020" in fields
    assert re.search(r"article-id: \d+", fields)


def test_export_is_gzipped_per_record(exported: Path):
    """Standard tools seek by offset: each record is a gzip member of its own."""
    data = exported.read_bytes()
    for record in records(exported):
        member = gzip.GzipFile(fileobj=io.BytesIO(data[record["offset"]:]))
        assert member.read(9) == b"WARC/1.1\r"


def test_max_size_rolls_over_to_numbered_files(crawled: tuple[Path, Path], tmp_path: Path):
    out = tmp_path / "news.warc.gz"
    result = run_cli("export", "--db", str(crawled[0]), "--format", "warc", "-o", str(out),
                     "--max-size", "40k")
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("news-*.warc.gz"))
    assert [f.name for f in files[:2]] == ["news-00000.warc.gz", "news-00001.warc.gz"]
    assert not out.exists()
    urls = []
    for file in files:
        found = records(file)
        assert found[0]["type"] == "warcinfo" and all(r["digest"] for r in found)
        # a page's records stay together
        assert [r["type"] for r in found[1:]] == ["response", "request", "metadata"] * (
            (len(found) - 1) // 3)
        urls += [r["headers"]["WARC-Target-URI"] for r in found if r["type"] == "response"]
    assert len(urls) == 12


def test_since_until_and_source_select_pages(crawled: tuple[Path, Path], tmp_path: Path):
    db = crawled[0]
    for args, expected in ((["--source", "demo-sina"], 3), (["--until", "2000-01-01"], 0),
                           (["--since", "2000-01-01"], 12)):
        out = tmp_path / "part.warc.gz"
        result = run_cli("export", "--db", str(db), "--format", "warc", "-o", str(out), *args)
        assert result.returncode == 0, result.stderr
        assert len([r for r in records(out) if r["type"] == "response"]) == expected, args


# Import: the round trip ----------------------------------------------------------------

def test_round_trip_gives_the_same_articles_and_page_bytes(crawled: tuple[Path, Path],
                                                           exported: Path, tmp_path: Path):
    fresh = tmp_path / "fresh.db"
    result = run_cli("import", "--db", str(fresh), str(exported), "-j", "2")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "12: 9 new, 1 near-duplicate, 1 duplicate, 1 without an article" in result.stdout
    assert articles(fresh) == articles(crawled[0])
    assert stored_pages(fresh) == stored_pages(crawled[0])
    [run] = runs(fresh)
    assert (run["source"], run["status"], run["pages_fetched"], run["articles_new"]) == (
        "archive", "ok", 12, 9)
    # searchable, as a crawl's articles are
    found = run_cli("search", "--db", str(fresh), "乌镇")
    assert "KEK0A3PK0527D7QO" in found.stdout

    again = run_cli("import", "--db", str(fresh), str(exported), "--source", "again")
    assert again.returncode == 0, again.stderr
    assert "pages     0:" in again.stdout and "already imported 12" in again.stdout
    assert stored_pages(fresh) == stored_pages(crawled[0])
    assert len(runs(fresh)) == 2


def test_import_json_counts_skipped_records_with_reasons(exported: Path, tmp_path: Path):
    result = run_cli("import", "--db", str(tmp_path / "a.db"), str(exported), "--json")
    assert result.returncode == 0, result.stderr
    [report] = json.loads(result.stdout)
    assert report["skipped"] == {"warcinfo record": 1, "request record": 12,
                                 "metadata record": 12}
    assert report["records"] == 37 and report["pages"] == 12 and report["ok"]


def test_crawl_time_warc_records_every_response_listings_included(
        crawled: tuple[Path, Path], tmp_path: Path):
    db, warc_dir = crawled
    files = sorted(warc_dir.glob("*.warc.gz"))
    assert len(files) >= 3  # rolled over at 60 KB, one series per source
    responses: dict[str, dict] = {}
    for file in files:
        found = records(file)
        assert found[0]["type"] == "warcinfo" and all(r["digest"] for r in found)
        ids = {r["headers"]["WARC-Record-ID"] for r in found if r["type"] == "response"}
        for record in found:
            if record["type"] == "request":
                assert record["headers"]["WARC-Concurrent-To"] in ids
                assert record["http"].get_header("User-Agent")
            if record["type"] == "response":
                responses[record["headers"]["WARC-Target-URI"].split("/", 3)[3]] = record
    for path in ("robots.txt", "news.163.com/domestic/", "news.163.com/domestic/index_02.html",
                 "rss/netease-news.xml", "sitemap.xml",
                 "news.163.com/special/cm_guonei/?callback=data_callback",
                 "www.163.com/dy/article/ZZZZZZZZZZZZZZZZ.html", REFERENCE_PATH[1:]):
        assert path in responses, sorted(responses)
    assert responses["www.163.com/dy/article/ZZZZZZZZZZZZZZZZ.html"]["status"] == "404"
    assert responses[REFERENCE_PATH[1:]]["body"] == (REFERENCE / "page.html").read_bytes()
    # and it imports as the crawl stored it
    fresh = tmp_path / "from-crawl-warc.db"
    result = run_cli("import", "--db", str(fresh), "--profile", "netease",
                     *[str(f) for f in files if "demo-netease" in f.name])
    assert result.returncode == 0, result.stderr
    netease = [a for a in articles(db) if "sina" not in a[0]]
    assert articles(fresh) == netease


# Import: a WARC made by someone else ---------------------------------------------------

@pytest.fixture(scope="module")
def warc_tools() -> Path:
    """wget and a pywb venv, installed by .ci/install-warc-tools when missing."""
    done = subprocess.run(["bash", str(ROOT / ".ci" / "install-warc-tools")],
                          capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, f".ci/install-warc-tools failed: {done.stderr[-2000:]}"
    return Path(done.stdout.strip().splitlines()[-1])


def test_import_of_a_wget_warc(warc_tools: Path, tmp_path: Path):
    paths = [load_json(FIXTURES / case / "response.json")["path"]
             for case in ("netease/dy-post2020-reference", "netease/pc2019", "site/rss",
                          "site/not-found")]
    with serve_sample_site() as site:
        (tmp_path / "urls.txt").write_text("".join(f"{site.base_url}{p}\n" for p in paths))
        wget = subprocess.run(["wget", "--no-verbose", "--tries=1", "--warc-file=site",
                               "-i", "urls.txt", "-O", "/dev/null"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
    warc = tmp_path / "site.warc.gz"
    assert warc.exists(), wget.stderr
    db = tmp_path / "wget.db"
    result = run_cli("import", "--db", str(db), str(warc), "--profile", "netease",
                     "--source", "wget", "--json")
    assert result.returncode == 0, result.stderr
    [report] = json.loads(result.stdout)
    assert report["outcomes"] == {"new": 2}
    assert report["skipped"]["HTTP 404"] == 1
    assert report["skipped"]["not HTML: text/xml"] == 1
    assert report["skipped"]["request record"] == 4
    connection = sqlite3.connect(db)
    row = connection.execute("select canonical_url, title, published_at, text, source "
                             "from articles where canonical_url = ?",
                             [EXPECTED["canonical_url"]]).fetchone()
    connection.close()
    assert row == (EXPECTED["canonical_url"], EXPECTED["title"], EXPECTED["published_at"],
                   EXPECTED["text"], "wget")


# Replay --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_pywb_replays_the_reference_article(warc_tools: Path, crawled: tuple[Path, Path],
                                            exported: Path, tmp_path: Path):
    bin_dir = warc_tools / "bin"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for args in (["init", "news"], ["add", "news", str(exported)]):
        done = subprocess.run([str(bin_dir / "wb-manager"), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
    [(url, fetched_at)] = [key for key in stored_pages(crawled[0])
                           if key[0].endswith(REFERENCE_PATH)]
    stamp = re.sub(r"\D", "", fetched_at)[:14]
    port = _free_port()
    log = tmp_path / "wayback.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(bin_dir / "wayback"), "-p", str(port),
                                   "-b", "127.0.0.1"], cwd=tmp_path, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            body = _get_when_up(f"http://127.0.0.1:{port}/news/{stamp}id_/{url}", server, log)
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert body == (REFERENCE / "page.html").read_bytes()


def _get_when_up(url: str, server: subprocess.Popen, log: Path) -> bytes:
    """The replayed page, once pywb listens (it takes a few seconds to start)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.read()
        except (ConnectionError, urllib.error.URLError):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pywb did not answer: {log.read_text()[-2000:]}") \
                    from None
            time.sleep(0.5)


# Bad WARCs -----------------------------------------------------------------------------

def _response_offsets(path: Path) -> list[int]:
    return [r["offset"] for r in records(path) if r["type"] == "response"]


def _import_bad(bad: Path, db: Path) -> subprocess.CompletedProcess[str]:
    result = run_cli("import", "--db", str(db), str(bad))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_truncated_gzip_member_keeps_what_came_before(exported: Path, tmp_path: Path):
    third = _response_offsets(exported)[2]
    bad = tmp_path / "cut.warc.gz"
    bad.write_bytes(exported.read_bytes()[:third + 300])  # inside the third page's member
    db = tmp_path / "cut.db"
    result = _import_bad(bad, db)
    assert "cut short" in result.stderr and f"offset {third}" in result.stderr, result.stderr
    assert len(stored_pages(db)) == 2
    [run] = runs(db)
    assert run["status"] == "failed" and "cut short" in run["finish_reason"]
    # nothing lost: the whole file afterwards brings in the rest
    assert run_cli("import", "--db", str(db), str(exported)).returncode == 0
    assert len(stored_pages(db)) == 12


@pytest.mark.parametrize("change", [-1000, 1000])
def test_record_whose_content_length_lies(exported: Path, tmp_path: Path, change: int):
    plain = gzip.decompress(exported.read_bytes())  # the same records, uncompressed
    starts = [m.start() for m in re.finditer(rb"WARC/1.1\r\nWARC-Date: [^\r]+\r\n"
                                             rb"WARC-Type: response", plain)]
    head_end = plain.index(b"\r\n\r\n", starts[2])
    length = re.compile(rb"Content-Length: (\d+)\r\n")
    match = length.search(plain, starts[2], head_end + 2)
    assert match is not None
    lied = f"Content-Length: {int(match[1]) + change}\r\n".encode()
    bad = tmp_path / "lies.warc"
    bad.write_bytes(plain[:match.start()] + lied + plain[match.end():])
    db = tmp_path / "lies.db"
    result = _import_bad(bad, db)
    assert "Content-Length lies" in result.stderr, result.stderr
    assert len(stored_pages(db)) == 2


@pytest.mark.parametrize("content", [b"<html><body>not a WARC</body></html>",
                                     gzip.compress(b"just some gzipped text\n" * 50), b""])
def test_a_file_that_is_not_a_warc(tmp_path: Path, content: bytes):
    bad = tmp_path / "page.warc.gz"
    bad.write_bytes(content)
    db = tmp_path / "not.db"
    result = _import_bad(bad, db)
    assert re.search(r"is (empty: )?not a WARC file", result.stderr), result.stderr
    assert stored_pages(db) == {}
    assert runs(db)[0]["status"] == "failed"
