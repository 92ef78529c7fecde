"""The cluster's benchmark: throughput with 1, 2 and 4 workers, and Redis' memory.

    python bench/cluster_bench.py                 # 400 pages, 300 ms each, 1/2/4 workers
    python bench/cluster_bench.py --pages 800 --latency 0.3 --workers 1 2 4

A site on 127.0.0.1 answers each article page after --latency seconds, as real sites
take their time; its pages are the generated NetEase articles of the crash tests
(tests/generated_site.py), listed in one sitemap. A real redis-server on a free port.

Measured in one run:

  baseline  `newsarchive crawl` of the site on one machine, no Redis
  N workers `newsarchive worker` × N (one extraction process each) and one
            `newsarchive store`, the run queued by `newsarchive crawl --redis`: pages/s
            from the run's queueing to the writer closing it (workers started and warmed
            up on a small run first, as running nodes are)

Every crawl process has the same CONCURRENT_REQUESTS (--concurrency, 4): a node's share
of the work is bounded as a real node's is (by its bandwidth, its politeness), so that
what is measured is how the cluster adds nodes up, not how far one process can be
pushed. The per-host limit is lifted (NEWSARCHIVE_HOST_DELAY=0, no AutoThrottle) for
the benchmark host.

Redis' memory: a queued request (real requests, serialized as the frontier keeps them),
an archived URL in the mirror, a fingerprint in a run's duplicate filter, each as
MEMORY USAGE of its key over its count; and what a million-URL frontier would need.

The machine is shared (2 cores for several people): compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import redis  # noqa: E402
import scrapy  # noqa: E402
from generated_site import HANZI, generate_site, paragraph  # noqa: E402
from redis_server import redis_server  # noqa: E402

from crawler.cluster.frontier import LeasedQueue, Leases  # noqa: E402
from crawler.cluster.keys import Keys, url_digest  # noqa: E402
from crawler.cluster.spider import ClusterNewsSpider  # noqa: E402
from newsarchive.cluster.runs import start_run, wait_for_runs  # noqa: E402
from newsarchive.demo.samplesite import Route, load_routes, serve_sample_site  # noqa: E402

SEEDS = """
[[source]]
name = "{name}"
sitemaps = ["{base}/{name}-sitemap.xml"]
allow = ['/www\\.163\\.com/dy/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
"""


def newsarchive(*args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "newsarchive", *args], cwd=ROOT,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def build_site(work: Path, site: object, pages: int, latency: float, warm: int,
               light: bool = False) -> Path:
    """The benchmark's pages and a warm-up's, under two sources; their seeds."""
    seeds = work / "seeds"
    seeds.mkdir()
    for name, count in (("bench", pages), ("warmup", warm)):
        routes = (_light(work / name, count, name) if light
                  else load_routes(_generated(work / name, count, name)))
        site.routes[f"/{name}-sitemap.xml"] = routes.pop("/sitemap.xml")  # type: ignore[attr-defined]
        for route in routes.values():
            route.delay = latency
        site.routes.update(routes)  # type: ignore[attr-defined]
        (seeds / f"{name}.toml").write_text(
            SEEDS.format(name=name, base=site.base_url), "utf-8")  # type: ignore[attr-defined]
    return seeds


def _light(directory: Path, count: int, name: str) -> dict[str, Route]:
    """Small article pages (~2 KB: a title and five paragraphs) under the same URL
    pattern: little CPU a page, so that the latency is what the nodes wait on."""
    import random

    directory.mkdir(parents=True)
    routes: dict[str, Route] = {}
    locs = []
    for n in range(count):
        rng = random.Random(f"{name}{n}")
        docid = f"{name[:5].upper()}{n:011d}"
        title = "".join(rng.choice(HANZI) for _ in range(16))
        body = "".join(f"<p>{paragraph(rng)}</p>" for _ in range(5))
        page = directory / f"{n}.html"
        page.write_text(f"<html><head><meta charset='utf-8'><title>{title}</title></head>"
                        f"<body><article><h1>{title}</h1>{body}</article></body></html>",
                        "utf-8")
        path = f"/www.163.com/dy/article/{docid}.html"
        routes[path] = Route(page, 200, {"Content-Type": "text/html; charset=utf-8"})
        locs.append(f"<url><loc>{{base}}{path}</loc></url>")
    sitemap = directory / "sitemap.xml"
    sitemap.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
                       f'"http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(locs)}'
                       "</urlset>", "utf-8")
    routes["/sitemap.xml"] = Route(sitemap, 200, {"Content-Type": "application/xml"},
                                   template=True)
    return routes


def _generated(directory: Path, count: int, name: str) -> Path:
    generate_site(directory, count)
    if name == "warmup":  # other DOCIDs than the benchmark's pages
        for page in directory.glob("crash/*/response.json"):
            page.write_text(page.read_text("utf-8").replace("CRASH", "WARMX"), "utf-8")
        for html in directory.glob("crash/*/page.html"):
            html.write_text(html.read_text("utf-8").replace("CRASH", "WARMX"), "utf-8")
        sitemap = directory / "site/sitemap/page.xml"
        sitemap.write_text(sitemap.read_text("utf-8").replace("CRASH", "WARMX"), "utf-8")
    return directory


def single_machine(work: Path, seeds: Path, pages: int, concurrency: int) -> float:
    db = work / "single.db"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", "crawl", "bench", "--db", str(db), "--seeds",
         str(seeds), "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
         "-s", f"CONCURRENT_REQUESTS={concurrency}",
         "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}", "-s",
         "NEWSARCHIVE_EXTRACT_WORKERS=1"], cwd=ROOT, capture_output=True, text=True,
        check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    return pages / elapsed


def cluster(work: Path, url: str, seeds: Path, workers: int, pages: int,
            concurrency: int) -> float:
    server = redis.Redis.from_url(url)
    server.flushall()
    db = work / f"cluster{workers}.db"
    logs = work / f"logs{workers}"
    logs.mkdir()
    processes = [newsarchive("store", "--redis", url, "--db", str(db), "--seeds", str(seeds),
                             log=logs / "store.log")]
    processes += [newsarchive("worker", "--redis", url, "--seeds", str(seeds), "-j", "1",
                              "--node", f"n{i}", "-s", "NEWSARCHIVE_HOST_DELAY=0",
                              "-s", f"CONCURRENT_REQUESTS={concurrency}",
                              log=logs / f"n{i}.log") for i in range(workers)]
    try:
        from crawler.seeds import load_seeds

        sources = {s.name: s for s in load_seeds(seeds)}
        time.sleep(2)
        # Every node started and its extraction process warm, as a running cluster's.
        wait_for_runs(server, [start_run(server, sources["warmup"], db=None)])
        started = time.monotonic()
        wait_for_runs(server, [start_run(server, sources["bench"], db=None)], poll=0.2)
        return pages / (time.monotonic() - started)
    finally:
        stop(processes)


def memory_per_entry(url: str, count: int) -> dict[str, float]:
    """Bytes of Redis memory per queued request, archived URL and seen fingerprint."""
    server = redis.Redis.from_url(url)
    server.flushall()
    keys = Keys("memory")
    spider = ClusterNewsSpider()
    queue = LeasedQueue(server, spider, keys.queue)
    queue.leases = Leases(server, keys, lease_seconds=60)
    pipe_every = 1000
    for start in range(0, count, pipe_every):
        for n in range(start, min(count, start + pipe_every)):
            queue.push(scrapy.Request(
                f"https://www.163.com/dy/article/K{n:015d}.html",
                callback=spider.parse_article, errback=spider.on_error,
                meta={"kind": "article", "source": "netease-news", "run": "netease-news-1"}))
    for start in range(0, count, 10_000):
        server.sadd(keys.archived, *(url_digest(f"https://www.163.com/dy/article/K{n:015d}.html")
                                     for n in range(start, min(count, start + 10_000))))
        server.sadd(keys.run_seen("r"), *(f"{n:040x}" for n in range(start, min(count,
                                                                           start + 10_000))))
    usage = {name: server.memory_usage(key, samples=0) / count for name, key in (
        ("queued request", keys.queue), ("archived URL", keys.archived),
        ("seen fingerprint", keys.run_seen("r")))}
    server.flushall()
    return usage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--memory-count", type=int, default=100_000)
    parser.add_argument("--light", action="store_true",
                        help="small pages (~2 KB) instead of the 76 KB NetEase ones: "
                             "little CPU a page, for a loaded machine")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp, \
            serve_sample_site() as site, redis_server(Path(tmp) / "redis") as url:
        work = Path(tmp)
        seeds = build_site(work, site, args.pages, args.latency, 8 * max(args.workers),
                           args.light)
        print(f"{args.pages} {'light' if args.light else 'NetEase'} pages, "
              f"{args.latency * 1000:.0f} ms each, "
              f"CONCURRENT_REQUESTS={args.concurrency} per process, {os.cpu_count()} cores "
              "(shared with others: compare within this run)")
        baseline = single_machine(work, seeds, args.pages, args.concurrency)
        print(f"| {'setup':<30} | {'pages/s':>8} | {'× 1 worker':>10} | {'× baseline':>10} |")
        print(f"|{'-' * 32}|{'-' * 10}:|{'-' * 11}:|{'-' * 11}:|")
        print(f"| {'one machine (newsarchive crawl)':<30} | {baseline:8.1f} | {'':>10} | "
              f"{1:10.2f} |")
        one = None
        for workers in args.workers:
            rate = cluster(work, url, seeds, workers, args.pages, args.concurrency)
            one = one or rate
            print(f"| {f'{workers} worker(s) + 1 writer':<30} | {rate:8.1f} | "
                  f"{rate / one:10.2f} | {rate / baseline:10.2f} |", flush=True)
        usage = memory_per_entry(url, args.memory_count)
    print(f"\nRedis memory per entry (MEMORY USAGE over {args.memory_count:,} entries):")
    for name, size in usage.items():
        print(f"  {name:<17} {size:7.1f} bytes")
    million = 1_000_000 * sum(usage.values()) / 2**20
    print(f"A million-URL frontier (queued, archived, seen once each): ~{million:,.0f} MiB")


if __name__ == "__main__":
    main()
