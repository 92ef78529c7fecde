"""WARC in and out on the synthetic site: import speed beside the crawl's, export size.

    python bench/warc_bench.py --pages 2000 [--json out.json]

In one run, on the same N-page synthetic NetEase site (bench/synthsite.py, built once
and cached like crawl_bench.py's):

1. `newsarchive crawl` of the site into a fresh archive (politeness lifted for the
   benchmark host, as in crawl_bench.py): pages/s, process start to exit;
2. `newsarchive export --format warc` of that archive: seconds, bytes per article;
3. `newsarchive import` of that WARC into another fresh archive: pages/s, process start
   to exit. The import fetches nothing, so it should be faster than the crawl; both do
   the same extraction in the same worker pool.

The machine is shared: compare the two speeds measured in the same run, not across runs,
and beside them the CPU each used per page (the process tree's, from /proc), which other
people's load moves less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import synthsite  # noqa: E402
from crawl_bench import CRAWL_SETTINGS, TreeMonitor  # noqa: E402

BIN = Path(sys.executable).parent


def fresh(db: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return db


def timed(command: list[str], log: Path, cwd: Path) -> tuple[float, float]:
    """Run a command to its end: (wall seconds, CPU seconds of its process tree: the
    command, the pool's forkserver and workers). Fails loudly on a non-zero exit."""
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        with TreeMonitor(proc.pid) as monitor:
            code = proc.wait()
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{command[1]} exited {code}: see {log}")
    return wall, monitor.cpu_total


def count(db: Path, sql: str) -> int:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql).fetchone()[0]
    finally:
        connection.close()


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, help="default: the cache crawl_bench uses")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.gettempdir()) / f"newsarchive-bench-{args.pages}"
    print(f"building the site in {workdir} ...", file=sys.stderr, flush=True)
    summary = synthsite.build(workdir, args.pages)
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "synthsite.py"), "serve",
                               str(workdir)], stdout=subprocess.PIPE, text=True)
    results: dict = {"pages": args.pages, "cpus": os.cpu_count(), "load_before": load()}
    try:
        base_url = server.stdout.readline().strip()
        _, seeds = synthsite.write_inputs(workdir, summary, base_url)
        crawl_db = fresh(workdir / "warc-crawl.db")
        command = [str(BIN / "newsarchive"), "crawl", "bench", "--db", str(crawl_db),
                   "--seeds", str(seeds)]
        for key, value in CRAWL_SETTINGS.items():
            command += ["-s", f"{key}={value}"]
        print(f"1: crawl of {args.pages} pages ...", file=sys.stderr, flush=True)
        crawl_s, crawl_cpu = timed(command, workdir / "warc-crawl.log", workdir)
    finally:
        server.terminate()
        server.wait()
    crawled = count(crawl_db, "select count(*) from pages")
    articles = count(crawl_db, "select count(*) from articles")

    warc = workdir / "bench.warc.gz"
    print("2: export --format warc ...", file=sys.stderr, flush=True)
    export_s, _ = timed([str(BIN / "newsarchive"), "export", "--db", str(crawl_db), "--format",
                      "warc", "-o", str(warc)], workdir / "warc-export.log", workdir)

    import_db = fresh(workdir / "warc-import.db")
    print(f"3: import of the {warc.stat().st_size / 2**20:.0f} MB WARC ...", file=sys.stderr,
          flush=True)
    import_s, import_cpu = timed([str(BIN / "newsarchive"), "import", str(warc), "--db",
                                  str(import_db), "--source", "bench"],
                                 workdir / "warc-import.log", workdir)
    imported = count(import_db, "select count(*) from pages")
    results.update({
        "crawl": {"pages": crawled, "articles": articles, "wall_s": round(crawl_s, 1),
                  "pages_s": round(crawled / crawl_s, 2), "cpu_s": round(crawl_cpu, 1),
                  "cpu_ms_page": round(1000 * crawl_cpu / max(crawled, 1), 1),
                  "cores": round(crawl_cpu / crawl_s, 2)},
        "export": {"wall_s": round(export_s, 1), "bytes": warc.stat().st_size,
                   "kb_per_article": round(warc.stat().st_size / max(articles, 1) / 1024, 1),
                   "site_kb_per_page": summary["mean_kb"]},
        "import": {"pages": imported,
                   "articles": count(import_db, "select count(*) from articles"),
                   "wall_s": round(import_s, 1), "pages_s": round(imported / import_s, 2),
                   "cpu_s": round(import_cpu, 1),
                   "cpu_ms_page": round(1000 * import_cpu / max(imported, 1), 1),
                   "cores": round(import_cpu / import_s, 2)},
        "load_after": load(),
    })
    results["import_vs_crawl"] = round(results["import"]["pages_s"]
                                       / results["crawl"]["pages_s"], 2)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def report(r: dict) -> str:
    crawl, export, imported = r["crawl"], r["export"], r["import"]
    return "\n".join([
        f"WARC benchmark, {r['pages']} synthetic pages, {r['cpus']} cores "
        f"(load average {r['load_before']} before, {r['load_after']} after: a shared machine)",
        f"  crawl   {crawl['pages']} pages in {crawl['wall_s']} s: {crawl['pages_s']} pages/s; "
        f"CPU {crawl['cpu_ms_page']} ms a page, {crawl['cores']} cores used",
        f"  import  {imported['pages']} pages in {imported['wall_s']} s: "
        f"{imported['pages_s']} pages/s (x{r['import_vs_crawl']} the crawl's); "
        f"CPU {imported['cpu_ms_page']} ms a page, {imported['cores']} cores used",
        f"  export  {export['bytes'] / 2**20:.1f} MB in {export['wall_s']} s: "
        f"{export['kb_per_article']} KB an article (pages average {export['site_kb_per_page']} "
        "KB raw; gzip per record)",
    ])


if __name__ == "__main__":
    main()
