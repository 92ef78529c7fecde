"""The cluster (docs/cluster.md) on real parts: a real redis-server on 127.0.0.1, real
`newsarchive worker` and `newsarchive store` processes, the fixture site plus generated
pages over HTTP, a real SQLite archive.

Each test's waits are bounded (DEADLINE); no assertion is about time except the
politeness test's, which reads the gaps between requests from the server's own log.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from generated_site import canonical, generate_site
from redis_server import redis_server

from conftest import make_article, make_page, run_cli
from crawler.cluster.frontier import Leases
from crawler.cluster.keys import Keys
from crawler.cluster.results import encode
from crawler.items import PageItem
from newsarchive.cluster.writer import ClusterWriter
from newsarchive.demo.demo import write_sample_seeds
from newsarchive.demo.samplesite import SampleSite, load_routes, serve_sample_site
from pipelines.dedup import fingerprint

DEADLINE = 240  # seconds any one wait may take before the test fails
GENERATED = 200


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One redis-server for the session (installed from Debian when missing)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def server(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushall()  # each test starts from an empty cluster
    yield client
    client.close()


@contextmanager
def cluster_site(tmp_path: Path, pages: int = GENERATED,
                 delay: float = 0.0) -> Iterator[tuple[SampleSite, Path]]:
    """The fixture site plus `pages` generated articles (listed in their own sitemap,
    source `generated`), and seeds for its three sources."""
    generate_site(tmp_path / "generated", pages)
    with serve_sample_site() as site:
        extra = load_routes(tmp_path / "generated")
        site.routes["/generated-sitemap.xml"] = extra.pop("/sitemap.xml")
        for route in extra.values():
            route.delay = delay
        site.routes.update(extra)
        seeds = write_sample_seeds(site.base_url, tmp_path / "seeds")
        (seeds / "generated.toml").write_text(f"""
[[source]]
name = "generated"
sitemaps = ["{site.base_url}/generated-sitemap.xml"]
allow = ['/www\\.163\\.com/dy/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
""", "utf-8")
        yield site, seeds


def start(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """`newsarchive ARGS` in its own process group (a SIGKILL reaches its extraction
    workers too, as the OOM killer's would)."""
    return subprocess.Popen([sys.executable, "-m", "newsarchive", *args],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_worker(url: str, seeds: Path, node: str, tmp_path: Path,
                 *settings: str) -> subprocess.Popen[bytes]:
    sets = [a for s in ("NEWSARCHIVE_HOST_DELAY=0", "NEWSARCHIVE_CLUSTER_LEASE=3", *settings)
            for a in ("-s", s)]
    return start("worker", "--redis", url, "--seeds", str(seeds), "-j", "1", "--node", node,
                 *sets, log=tmp_path / f"{node}.log")


def start_writer(url: str, db: Path, seeds: Path, name: str, tmp_path: Path,
                 claim_after: float = 60) -> subprocess.Popen[bytes]:
    return start("store", "--redis", url, "--db", str(db), "--seeds", str(seeds),
                 "--consumer", name, "--claim-after", str(claim_after), "-v",
                 log=tmp_path / f"{name}.log")


def kill(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signum)
    process.wait(timeout=60)


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            kill(process, signal.SIGTERM)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.3)


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return []


def count(db: Path, sql: str) -> int:
    found = rows(db, sql)
    return found[0][0] if found else 0


def wait_for_nodes(server: redis.Redis, *nodes: str) -> None:
    """Every node up (its heartbeat in Redis) before runs are queued: a node still
    starting (a fresh checkout compiles its modules) would leave the others to take
    nearly everything."""
    wait_until(lambda: all(server.hexists(Keys().nodes, node) for node in nodes),
               f"nodes {', '.join(nodes)} up")


def leases_of(server: redis.Redis, node: str) -> int:
    keys = Keys()
    return sum(server.hget(keys.lease_prefix + lease.decode(), "node") == node.encode()
               for lease in server.zrange(keys.processing, 0, -1))


def freeze_holding_leases(server: redis.Redis, process: subprocess.Popen[bytes],
                          node: str) -> int:
    """Stop NODE's process group (SIGSTOP) at a moment it holds leases, so that it cannot
    ack them before it is killed; how many it holds. A node caught between two requests
    is let go on and caught again."""
    held = 0

    def caught() -> bool:
        nonlocal held
        os.killpg(process.pid, signal.SIGSTOP)
        held = leases_of(server, node)
        if not held:
            os.killpg(process.pid, signal.SIGCONT)
        return held > 0
    wait_until(caught, f"{node} holding a lease")
    return held


def runs_done(server: redis.Redis, runs: list[str]) -> bool:
    return all(server.hget(Keys().run(run), "status") in (b"ok", b"failed") for run in runs)


def queue_runs(url: str, db: Path, seeds: Path, *sources: str) -> list[str]:
    result = run_cli("crawl", *sources, "--redis", url, "--db", str(db), "--seeds", str(seeds))
    assert result.returncode == 0, result.stderr
    return [line.split()[-1] for line in result.stderr.splitlines()
            if line.startswith("queued run")]


def generated_canonicals(pages: int = GENERATED) -> set[str]:
    return {canonical(n) for n in range(pages)}


def assert_each_article_once(db: Path) -> None:
    """No article URL was stored twice: no page row repeats an article's URL."""
    assert rows(db, "select url, count(*) from pages where article_id is not null "
                    "group by url having count(*) > 1") == []


def assert_frontier_empty(server: redis.Redis) -> None:
    keys = Keys()
    assert server.zcard(keys.queue) == 0
    assert server.zcard(keys.processing) == 0
    assert server.llen(keys.dropped) == 0
    assert server.scard(keys.runs_open) == 0


# The whole cluster ---------------------------------------------------------------


def test_two_workers_and_a_writer_archive_every_article_once(
        server: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with cluster_site(tmp_path) as (_, seeds), processes() as started:
        # The same fixture sources crawled on one machine, as the reference.
        reference = tmp_path / "reference.db"
        single = run_cli("crawl", "demo-netease", "demo-sina", "--db", str(reference),
                         "--seeds", str(seeds), "-s", "AUTOTHROTTLE_ENABLED=False",
                         "-s", "DOWNLOAD_DELAY=0")
        assert single.returncode == 0, single.stderr
        started.append(start_writer(redis_url, db, seeds, "writer", tmp_path))
        started += [start_worker(redis_url, seeds, node, tmp_path) for node in ("n1", "n2")]
        wait_for_nodes(server, "n1", "n2")
        result = run_cli("crawl", "demo-netease", "demo-sina", "generated", "--redis",
                         redis_url, "--wait", "--db", str(db), "--seeds", str(seeds),
                         timeout=DEADLINE)
        assert result.returncode == 0, result.stderr
        assert "generated" in result.stderr and "ok" in result.stderr
        wait_until(lambda: server.xlen(Keys().results) == 0, "the stream trimmed")

    expected = generated_canonicals() | {
        r[0] for r in rows(reference, "select canonical_url from articles")}
    archived = [r[0] for r in rows(db, "select canonical_url from articles")]
    assert sorted(archived) == sorted(expected)  # all of them, each once
    assert_each_article_once(db)
    nodes = dict(rows(db, "select node, count(*) from pages group by node"))
    # Both took a share. How large depends on the machine: in CI one node once took 207
    # pages and the other 5, its fetching started later on a loaded machine.
    assert set(nodes) == {"n1", "n2"} and min(nodes.values()) >= 1
    runs = rows(db, "select source, status, cluster_run from crawl_runs order by source")
    assert [(s, st) for s, st, _ in runs] == [("demo-netease", "ok"), ("demo-sina", "ok"),
                                              ("generated", "ok")]
    assert all(cluster_run for _, _, cluster_run in runs)
    assert rows(db, "select articles_new from crawl_runs where source = 'generated'") == [
        (GENERATED,)]
    # Bounded state: the frontier is empty, the runs' filters are gone, the mirror
    # holds every archived URL.
    assert_frontier_empty(server)
    assert not server.keys("newsarchive:run:*:seen") and not server.keys(
        "newsarchive:run:*:articles")
    archived_urls = rows(db, "select count(*) from article_urls")[0][0]
    assert server.scard(Keys().archived) == archived_urls

    # A second run finds everything archived: nothing is fetched again.
    with cluster_site(tmp_path / "again") as (_, seeds2), processes() as started:
        started.append(start_writer(redis_url, db, seeds2, "writer", tmp_path))
        started.append(start_worker(redis_url, seeds2, "n3", tmp_path))
        result = run_cli("crawl", "generated", "--redis", redis_url, "--wait", "--db",
                         str(db), "--seeds", str(seeds2), timeout=DEADLINE)
        assert result.returncode == 0, result.stderr
    assert rows(db, "select count(*) from pages where node = 'n3'") == [(0,)]


def test_a_worker_killed_mid_crawl_loses_nothing(server: redis.Redis, redis_url: str,
                                                 tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    # Slow pages: the killed node always has requests in flight.
    with cluster_site(tmp_path, delay=0.2) as (_, seeds), processes() as started:
        started.append(start_writer(redis_url, db, seeds, "writer", tmp_path))
        doomed = start_worker(redis_url, seeds, "doomed", tmp_path)
        started += [doomed, start_worker(redis_url, seeds, "survivor", tmp_path)]
        wait_for_nodes(server, "doomed", "survivor")
        runs = queue_runs(redis_url, db, seeds, "generated")
        wait_until(lambda: count(db, "select count(*) from pages where node = 'doomed'")
                   >= 10, "a share done")
        held = freeze_holding_leases(server, doomed, "doomed")
        kill(doomed)
        wait_until(lambda: runs_done(server, runs), "the run to finish")

    assert {r[0] for r in rows(db, "select canonical_url from articles")} == \
        generated_canonicals()
    assert_each_article_once(db)
    assert server.hlen(Keys().requeued) >= held > 0  # the dead node's leases came back
    assert rows(db, "select status, articles_new from crawl_runs") == [("ok", GENERATED)]
    assert_frontier_empty(server)


def test_the_writer_killed_mid_stream_and_another_resumes(
        server: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with cluster_site(tmp_path) as (_, seeds), processes() as started:
        started += [start_worker(redis_url, seeds, node, tmp_path) for node in ("n1", "n2")]
        runs = queue_runs(redis_url, db, seeds, "generated")
        # The nodes fill the stream while no writer runs.
        wait_until(lambda: server.xlen(Keys().results) >= 50, "results waiting")
        first = start_writer(redis_url, db, seeds, "first", tmp_path)
        started.append(first)
        wait_until(lambda: count(db, "select count(*) from articles") >= 20, "a first share")
        kill(first)
        stored = len(rows(db, "select id from articles"))
        assert stored < GENERATED  # killed mid-stream
        started.append(start_writer(redis_url, db, seeds, "second", tmp_path, claim_after=1))
        wait_until(lambda: runs_done(server, runs), "the run to finish")

    assert {r[0] for r in rows(db, "select canonical_url from articles")} == \
        generated_canonicals()
    assert_each_article_once(db)
    assert rows(db, "select status, articles_new from crawl_runs") == [("ok", GENERATED)]
    assert_frontier_empty(server)


def test_one_delay_per_host_across_nodes(server: redis.Redis, redis_url: str,
                                         tmp_path: Path) -> None:
    """Two nodes, a 1 s delay: no two requests reach the host less than 1 s apart, by
    the server's own clock; robots.txt is fetched once for both."""
    db = tmp_path / "archive.db"
    with cluster_site(tmp_path, pages=8) as (site, seeds), processes() as started:
        arrivals: list[float] = []
        site.requests = TimedLog(arrivals)
        started.append(start_writer(redis_url, db, seeds, "writer", tmp_path))
        started += [start_worker(redis_url, seeds, node, tmp_path,
                                 "NEWSARCHIVE_HOST_DELAY=1") for node in ("n1", "n2")]
        runs = queue_runs(redis_url, db, seeds, "generated")
        wait_until(lambda: runs_done(server, runs), "the run to finish")
        served = list(site.requests)

    assert len(rows(db, "select id from articles")) == 8
    assert len(arrivals) >= 10  # robots.txt, the sitemap, 8 articles
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 1.0, gaps
    assert [path for _, path in served].count("/robots.txt") == 1
    assert set(rows(db, "select distinct node from pages")) <= {("n1",), ("n2",)}


class TimedLog(list):
    """The sample site's request log, also noting when each request arrived."""

    def __init__(self, arrivals: list[float]) -> None:
        super().__init__()
        self.arrivals = arrivals

    def append(self, entry: object) -> None:
        self.arrivals.append(time.monotonic())
        super().append(entry)


# The parts, in this process --------------------------------------------------------


def test_leases_expire_back_into_the_queue_and_a_poisonous_request_is_set_aside(
        server: redis.Redis) -> None:
    keys = Keys("unit")
    leases = Leases(server, keys, lease_seconds=0.2, max_expiries=2, node="a")
    assert leases.push(b"run1\0request", -10, "run1")
    assert server.hget(keys.run("run1"), "queued") == b"1"
    lease, data = leases.pop()
    assert data == b"run1\0request" and leases.pop() is None
    assert server.hget(keys.lease_prefix + lease, "node") == b"a"
    time.sleep(0.3)
    assert leases.requeue() == 1  # expired: back in the queue, still counted once
    assert server.hget(keys.run("run1"), "queued") == b"1"
    lease, _ = leases.pop()
    assert leases.renew([lease]) == []  # renewed: not expired in another 0.2 s
    assert leases.ack(lease) and not leases.ack(lease)  # acked once only
    assert server.hget(keys.run("run1"), "queued") == b"0"
    assert leases.renew([lease]) == [lease]  # gone
    # A request whose lease keeps expiring (it kills its nodes?) is set aside, counted.
    leases.push(b"run2\0poison", 0, "run2")
    for _ in range(2):
        leases.pop()
        time.sleep(0.3)
        leases.requeue()
    assert server.zcard(keys.queue) == 0 and server.lrange(keys.dropped, 0, -1) == [
        b"run2\0poison"]
    assert server.hget(keys.run("run2"), "queued") == b"0"


def page_item(url: str) -> PageItem:
    article = make_article(url, text="同一段文字，第一次到达。" * 20)
    return PageItem(source="s", profile="netease", page=make_page(url), article=article,
                    fingerprint=fingerprint(article["text"]),
                    segmented=("标题", "同一 段 文字"), body_blob=None, body_codec=None)


def test_a_result_delivered_twice_is_stored_once(server: redis.Redis, tmp_path: Path) -> None:
    """The writer dies after its commit, before its XACK; another takes the entry over."""
    keys = Keys()
    db = tmp_path / "archive.db"
    server.hset(keys.run("r1"), mapping={"source": "s", "status": "running", "queued": 0,
                                          "sent": 1, "stored": 0})
    server.sadd(keys.runs_open, "r1")
    server.xadd(keys.results, encode(page_item("https://www.163.com/dy/article/A.html"),
                                     "r1", "n1"))
    first = ClusterWriter(server, db, {}, consumer="first", claim_after=0)
    first.prepare()
    first._ack = lambda **_: (_ for _ in ()).throw(ConnectionError("killed"))
    with pytest.raises(ConnectionError):
        first.step(block_ms=10)
    assert rows(db, "select count(*) from pages") == [(1,)]
    second = ClusterWriter(server, db, {}, consumer="second", claim_after=0)
    second.prepare()
    second.step(block_ms=10)  # claims the entry the first left pending
    assert second.stored == 0
    assert rows(db, "select count(*) from pages") == [(1,)]
    assert rows(db, "select node from pages") == [("n1",)]
    assert server.xpending(keys.results, keys.writers)["pending"] == 0
    second.step(block_ms=10)
    assert server.hget(keys.run("r1"), "status") == b"ok"  # all stored: closed
    assert rows(db, "select status, articles_new, cluster_run from crawl_runs") == [
        ("ok", 1, "r1")]


def test_a_page_fetched_again_after_a_lost_lease_is_stored_once(server: redis.Redis,
                                                                tmp_path: Path) -> None:
    """A node killed after its XADD and before letting its lease go: another node fetches
    the request again, and the stream holds two results of one URL in one run."""
    keys = Keys()
    server.hset(keys.run("r1"), mapping={"source": "s", "status": "running", "queued": 0,
                                          "sent": 2, "stored": 0})
    server.sadd(keys.runs_open, "r1")
    for node in ("doomed", "survivor"):
        server.xadd(keys.results, encode(page_item("https://www.163.com/dy/article/C.html"),
                                         "r1", node))
    writer = ClusterWriter(server, tmp_path / "archive.db", {}, consumer="w")
    writer.prepare()
    writer.step(block_ms=10)
    assert rows(tmp_path / "archive.db", "select node from pages") == [("doomed",)]
    assert rows(tmp_path / "archive.db", "select count(*) from articles") == [(1,)]
    assert server.xpending(keys.results, keys.writers)["pending"] == 0


def test_an_entry_that_is_not_a_result_is_set_aside(server: redis.Redis,
                                                    tmp_path: Path) -> None:
    keys = Keys()
    server.xadd(keys.results, {b"meta": b"{not json"})
    server.xadd(keys.results, encode(page_item("https://www.163.com/dy/article/B.html"),
                                     "r1", "n1"))
    writer = ClusterWriter(server, tmp_path / "archive.db", {}, consumer="w")
    writer.prepare()
    writer.step(block_ms=10)
    assert writer.stored == 1
    assert b"not a crawl result" in server.lindex(keys.results + ":unstored", 0)
    assert server.xpending(keys.results, keys.writers)["pending"] == 0


# Scheduling on several machines ----------------------------------------------------


def test_two_schedulers_queue_each_slot_once(server: redis.Redis, redis_url: str,
                                             tmp_path: Path) -> None:
    """Two `newsarchive schedule --redis` (job stores of their own, as on two machines)
    fire the same source's first slot: one run is queued."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "one.toml").write_text("""
[[source]]
name = "one"
sitemaps = ["http://127.0.0.1:9/sitemap.xml"]
allow = ['/a/']
schedule = "every 1h"
""", "utf-8")
    logs = [tmp_path / f"scheduler{i}.log" for i in (1, 2)]
    with processes() as started:
        started += [start("schedule", "--redis", redis_url, "--db", str(tmp_path / "a.db"),
                          "--seeds", str(seeds), "--jobs-db", str(tmp_path / f"jobs{i}.db"),
                          log=log) for i, log in enumerate(logs)]
        wait_until(lambda: all("one: " in log.read_text("utf-8", "replace")
                               for log in logs), "both schedulers to fire")
    said = [log.read_text("utf-8") for log in logs]
    assert sum("queued run one-1 on the cluster" in text for text in said) == 1
    assert sum("queued by another scheduler" in text for text in said) == 1
    assert server.get(Keys().run_seq) == b"1" and server.zcard(Keys().queue) == 1


def test_slots_are_named_alike_by_every_scheduler() -> None:
    from datetime import datetime

    from crawler.seeds import parse_schedule
    from newsarchive.cluster.slots import slot_of

    every = parse_schedule("every 30m")
    at = datetime.fromisoformat("2026-12-01T10:05:00+08:00")
    assert slot_of(every, at) == slot_of(every, at.replace(minute=29)) != slot_of(
        every, at.replace(minute=31))
    cron = parse_schedule("*/15 * * * *")
    assert slot_of(cron, at) == slot_of(cron, at.replace(minute=14, second=59)) == \
        f"c{int(at.replace(minute=0).timestamp())}"


def test_printed_redis_urls_hide_the_password(tmp_path: Path) -> None:
    from newsarchive.commands.cluster import shown

    assert shown("redis://:secret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert shown("rediss://user:secret@h:6380/1") == "rediss://user:***@h:6380/1"
    result = run_cli("store", "--redis", "redis://:secret@127.0.0.1:9/0", "--db",
                     str(tmp_path / "a.db"))
    assert result.returncode != 0 and "cannot reach Redis at redis://:***@127.0.0.1:9/0" \
        in result.stderr and "secret" not in result.stderr
