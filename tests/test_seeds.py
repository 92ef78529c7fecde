"""Seeds: the shipped file loads; every kind of mistake names file, line, source and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.seeds import SeedsError, Source, load_seeds, parse_schedule, select_sources

REPO = Path(__file__).resolve().parents[1]

GOOD = """
[[source]]
name = "one"
start_urls = ["https://news.163.com/"]
allow = ['^https?://www\\.163\\.com/dy/article/[0-9A-Z]{16}\\.html']
schedule = "every 30m"
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    (tmp_path / name).write_text(text, "utf-8")
    return tmp_path


def test_shipped_netease_seeds_load_and_match_every_article_form() -> None:
    sources = {s.name: s for s in load_seeds(REPO / "seeds")}
    news = sources["netease-news"]
    assert news.start_urls and news.feeds and news.jsonp
    assert news.schedule
    assert news.is_article_url("https://www.163.com/dy/article/G33O1QTA05372UZS.html")
    assert news.is_article_url("https://www.163.com/news/article/G33O1QTA05372UZS.html")
    assert news.is_article_url("https://news.163.com/21/0218/07/G33O1QTA05372UZS.html")
    assert not news.is_article_url("https://news.163.com/photo/G33O1QTA05372UZS.html")
    assert not news.is_article_url("https://www.163.com/dy/media/T1467284926140.html")


def test_good_file(tmp_path: Path) -> None:
    [source] = load_seeds(write(tmp_path, GOOD))
    assert source == Source(name="one", start_urls=("https://news.163.com/",),
                            allow=source.allow, schedule="every 30m")
    assert source.seeds_file and source.seeds_file.endswith("s.toml")


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (GOOD.replace('schedule = "every 30m"', 'shedule = "every 30m"'), 6, "shedule",
         "unknown key"),
        (GOOD.replace('allow = [', 'deny = ['), 2, "allow", "required"),
        (GOOD.replace("[0-9A-Z]{16}", "[0-9A-Z{16}"), 5, "allow", "bad regex"),
        (GOOD.replace('"https://news.163.com/"', '"news.163.com"'), 4, "start_urls",
         "not an http(s) URL"),
        (GOOD.replace('"every 30m"', '"every day at noon"'), 6, "schedule",
         "not a cron expression"),
        (GOOD + 'max_articles = -3\n', 7, "max_articles", "positive integer"),
        (GOOD.replace('start_urls = ["https://news.163.com/"]', 'start_urls = []'), 4,
         "start_urls", "at least one"),
    ],
)
def test_mistakes_name_file_line_source_and_key(tmp_path: Path, text: str, line: int,
                                                key: str, message: str) -> None:
    with pytest.raises(SeedsError) as caught:
        load_seeds(write(tmp_path, text))
    error = caught.value
    assert (error.line, error.key, error.source) == (line, key, "one")
    assert f"s.toml:{line}" in str(error) and f"key {key!r}" in str(error)
    assert "source 'one'" in str(error) and message in str(error)


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(SeedsError) as caught:
        load_seeds(write(tmp_path, GOOD + "\nmax_articles = = 3\n"))
    assert caught.value.line == 8
    assert "not valid TOML" in str(caught.value)


def test_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(SeedsError, match="unknown profile 'nope'"):
        load_seeds(write(tmp_path, GOOD + 'profile = "nope"\n'))


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD, "b.toml")
    with pytest.raises(SeedsError, match="duplicate source name"):
        load_seeds(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(SeedsError, match="no such seeds directory"):
        load_seeds(tmp_path / "nope")


def test_select_sources_names_the_known_ones(tmp_path: Path) -> None:
    sources = load_seeds(write(tmp_path, GOOD))
    assert select_sources(sources, []) == sources
    with pytest.raises(KeyError, match=r"unknown source 'two' \(known: one\)"):
        select_sources(sources, ["two"])


def test_schedules() -> None:
    assert parse_schedule("*/30 * * * *") is not None
    assert parse_schedule("every 2h").interval.total_seconds() == 7200
    with pytest.raises(ValueError):
        parse_schedule("whenever")


def test_run_limits_for_the_scheduler(tmp_path: Path) -> None:
    [source] = load_seeds(write(tmp_path, GOOD + 'timeout = "45m"\nmax_memory_mb = 800\n'))
    assert source.timeout is not None and source.timeout.total_seconds() == 45 * 60
    assert source.max_memory_mb == 800
    [default] = load_seeds(write(tmp_path, GOOD))
    assert default.timeout is None and default.max_memory_mb is None


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ('timeout = "soon"\n', "timeout", "not a duration"),
        ("timeout = 30\n", "timeout", "duration like '30m'"),
        ('timeout = "0m"\n', "timeout", "not a duration"),
        ("max_memory_mb = 0\n", "max_memory_mb", "positive integer"),
        ('max_memory_mb = "1G"\n', "max_memory_mb", "positive integer"),
    ],
)
def test_bad_run_limits_name_file_line_source_and_key(tmp_path: Path, extra: str, key: str,
                                                      message: str) -> None:
    with pytest.raises(SeedsError) as caught:
        load_seeds(write(tmp_path, GOOD + extra))
    assert (caught.value.line, caught.value.key, caught.value.source) == (7, key, "one")
    assert message in str(caught.value)


def test_a_source_proxy(tmp_path: Path) -> None:
    [source] = load_seeds(write(tmp_path, GOOD + 'proxy = "http://me:pw@10.0.0.8:3128"\n'))
    assert source.proxy == "http://me:pw@10.0.0.8:3128"
    [default] = load_seeds(write(tmp_path, GOOD))
    assert default.proxy is None


@pytest.mark.parametrize(("value", "message"), [
    ('"socks5://127.0.0.1:7891"', "only HTTP proxies are supported"),
    ('"127.0.0.1:7890"', "not an http(s) proxy URL"),
    ('"http://127.0.0.1"', "needs a host and a port"),
    ('"http://127.0.0.1:port"', "not a proxy URL"),
    ('"http://127.0.0.1:7890/path"', "scheme://host:port only"),
    ("7890", "must be a proxy URL"),
])
def test_a_bad_proxy_names_file_line_source_and_key(tmp_path: Path, value: str,
                                                    message: str) -> None:
    with pytest.raises(SeedsError) as caught:
        load_seeds(write(tmp_path, GOOD + f"proxy = {value}\n"))
    assert (caught.value.line, caught.value.key, caught.value.source) == (7, "proxy", "one")
    assert message in str(caught.value)
