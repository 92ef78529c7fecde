"""The performance benchmark: extraction, the whole crawl, trafilatura's CLI, archive growth.

    python bench/crawl_bench.py --pages 2000               # everything, one table
    python bench/crawl_bench.py --pages 10000 --only c     # the crawl alone (memory target)
    python bench/crawl_bench.py --pages 2000 --json out.json

It builds (once, cached in --workdir) a synthetic NetEase-like site of N article pages
and listing pages (bench/synthsite.py), serves it on 127.0.0.1 from a separate process,
and measures in one run:

  a  bare trafilatura.extract on the pages, one process: the single-core baseline
  b  newsarchive's extraction (pipelines.extract.extract_article) on the same pages
     (a and b are timed page by page, alternately, so noise hits both alike; with c,
     again after the crawls, and the ratios use the mean of both)
  c  `newsarchive crawl` of the whole site into a fresh archive, politeness lifted for
     the benchmark host: pages/s end to end, peak RSS of the crawl process tree (summed
     from /proc: the crawl, the forkserver and the extraction workers), archive bytes
     per article, CPU used by the crawl tree and by the server
  d  trafilatura's CLI downloading and extracting the same URLs
     (`trafilatura --input-file urls.txt --parallel P`, with a config that lifts its
     politeness for 127.0.0.1 too: SLEEP_TIME = 0, SSRF_PROTECTION = off)
  e  the cost of storing one more article as the archive grows: bench/dedup_cost.py

and prints one table of the figures and the ratios b/a, c/a, c/d, with the targets.
The machine is shared and noisy: compare ratios within one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import synthsite  # noqa: E402
from trees import tree_env  # noqa: E402

BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Politeness lifted for our own server on loopback (never for other hosts).
CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
}
TRAFILATURA_CONFIG = """[DEFAULT]
DOWNLOAD_TIMEOUT = 30
MAX_FILE_SIZE = 20000000
MIN_FILE_SIZE = 10
SLEEP_TIME = 0
USER_AGENTS =
COOKIE =
MAX_REDIRECTS = 2
SSRF_PROTECTION = off
INSECURE_SSL_FALLBACK = off
MIN_EXTRACTED_SIZE = 250
MIN_OUTPUT_SIZE = 1
MIN_OUTPUT_COMM_SIZE = 1
MAX_TREE_SIZE =
EXTRACTION_TIMEOUT = 30
MIN_DUPLCHECK_SIZE = 100
MAX_REPETITIONS = 2
EXTENSIVE_DATE_SEARCH = on
EXTERNAL_URLS = off
"""
# Issue 18's targets: c/a >= 8 on 3,000 pages or more; peak PSS <= 350 MB at 10,000.
TARGETS = {"b/a": 0.9, "c/a": 8.0, "c/d": 3.0, "pss_mb": 350, "kb_per_article": 30,
           "e_growth": 1.2}


# -- /proc ------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    except OSError:
        pass
    return kids


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process (not its children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return None


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError):
        return 0


def pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


KNOWN = ("main", "forkserver", "worker", "resource_tracker")


class TreeMonitor:
    """Samples a process tree: peak summed RSS (and PSS), CPU seconds per process."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self.cpu: dict[int, float] = {}
        self.rss_by_pid: dict[int, int] = {}  # each process's own peak
        self.labels: dict[int, str] = {}
        self.rss_samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.perf_counter()

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            pids = process_tree(self.pid)
            each = {p: rss_bytes(p) for p in pids}
            rss = sum(each.values())
            for p, value in each.items():
                self.rss_by_pid[p] = max(self.rss_by_pid.get(p, 0), value)
                if self.labels.get(p) not in KNOWN:  # read again: seen mid-start-up
                    self.labels[p] = _label(p, self.pid)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, len(pids))
            if tick % 4 == 0:  # smaps_rollup costs more: once a second
                self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in pids))
            self.rss_samples.append((time.perf_counter() - self._started, rss))
            for p in pids:
                seconds = cpu_seconds(p)
                if seconds is not None:
                    self.cpu[p] = seconds
            tick += 1
            self._stop.wait(self.interval)

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())


def _label(pid: int, root: int) -> str:
    if pid == root:
        return "main"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    if "forkserver" in cmdline:
        # The forkserver's children are the pool's workers.
        return "worker" if _parent(pid) != root else "forkserver"
    if "resource_tracker" in cmdline:
        return "resource_tracker"
    return cmdline[:40]


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return -1


# -- the parts ----------------------------------------------------------------------------


def measure_extraction(pages: list[tuple[str, bytes]]) -> dict:
    """a and b, page by page, alternately."""
    import trafilatura

    from pipelines.extract import extract_article

    # Warm both (imports, jieba-free; trafilatura's first call builds its caches).
    url, body = pages[0]
    trafilatura.extract(body)
    extract_article(body, url, content_type="text/html; charset=utf-8", profile="netease")
    a_time = b_time = 0.0
    b_articles = a_texts = 0
    for url, body in pages:
        started = time.perf_counter()
        text = trafilatura.extract(body)
        a_time += time.perf_counter() - started
        a_texts += bool(text)
        started = time.perf_counter()
        article = extract_article(body, url, content_type="text/html; charset=utf-8",
                                  profile="netease")
        b_time += time.perf_counter() - started
        b_articles += article is not None
    return {"pages": len(pages), "a_pages_s": len(pages) / a_time,
            "b_pages_s": len(pages) / b_time, "a_ok": a_texts, "b_ok": b_articles}


def measure_compression(pages: list[tuple[str, bytes]]) -> list[dict]:
    """KB per stored page and ms to compress one: zlib (the archive's codec before m006),
    zstd alone, and zstd with a dictionary trained on the site's pages as the archive
    does it (archive/pagecodec.py: the first 100 pages of the sample train it, the
    second half is measured)."""
    import zlib

    from backports import zstd

    bodies = [body for _, body in pages]
    train, test = bodies[: len(bodies) // 2], bodies[len(bodies) // 2:]
    rows = []

    def row(name: str, compress) -> None:
        started = time.perf_counter()
        sizes = [len(compress(body)) for body in test]
        elapsed = time.perf_counter() - started
        rows.append({"method": name, "kb_per_page": sum(sizes) / len(sizes) / 1024,
                     "ms_per_page": 1000 * elapsed / len(test)})

    from archive import pagecodec, pagedicts

    for level in (6, 9):
        row(f"zlib level {level}" + (" (before m006)" if level == 6 else ""),
            lambda body, level=level: zlib.compress(body, level))
    for level in (3, 6, 10):
        row(f"zstd level {level}" + (" (a site's first pages)" if level == pagecodec.LEVEL
                                     else ""),
            lambda body, level=level: zstd.compress(body, level))
    samples = train[: pagedicts.SAMPLES]
    size = min(pagedicts.MAX_DICT_SIZE,
               sum(map(len, samples)) // pagedicts.SAMPLE_BYTES_PER_DICT_BYTE)
    started = time.perf_counter()
    trained = zstd.ZstdDict(zstd.train_dict(samples, size).dict_content)
    train_s = time.perf_counter() - started
    for level in (3, 6, 10, 19):
        name = (f"zstd level {level}, {size // 1024} KB dictionary trained on "
                f"{len(samples)} pages ({train_s:.1f} s)")
        row(name + (" (the archive's)" if level == pagecodec.LEVEL else ""),
            lambda body, level=level: zstd.compress(body, level,
                                                    zstd_dict=trained.as_digested_dict))
    return rows


def measure_crawl(workdir: Path, seeds: Path, pages: int, server_pid: int,
                  extra: dict[str, str], tree: Path = ROOT) -> dict:
    """c: `newsarchive crawl` of the site, the code of `tree` (PYTHONPATH before the
    installed project; --baseline measures another checkout the same way)."""
    name = "crawl" if tree == ROOT else "crawl-baseline"
    db = workdir / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    settings = {**CRAWL_SETTINGS, **extra}
    command = [sys.executable, "-m", "newsarchive", "crawl", "bench", "--db", str(db),
               "--seeds", str(seeds)]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    log = workdir / f"{name}.log"
    server_before = cpu_seconds(server_pid) or 0.0
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                                env=tree_env(tree))
        with TreeMonitor(proc.pid) as monitor:
            code = proc.wait()
    wall = time.perf_counter() - started
    server_cpu = (cpu_seconds(server_pid) or 0.0) - server_before
    import sqlite3

    conn = sqlite3.connect(db)
    articles = conn.execute("select count(*) from articles").fetchone()[0]
    failures = conn.execute("select count(*) from failures").fetchone()[0]
    body_bytes = conn.execute("select coalesce(sum(length(body)), 0) from pages").fetchone()[0]
    try:  # where the bytes are: tables and indexes, per article (SQLite's dbstat)
        by_table = {name: size / max(articles, 1) / 1024 for name, size in conn.execute(
            "select name, sum(pgsize) from dbstat group by name order by 2 desc")}
    except sqlite3.OperationalError:  # SQLite built without dbstat
        by_table = {}
    conn.close()
    db_bytes = sum(Path(str(db) + s).stat().st_size for s in ("", "-wal")
                   if Path(str(db) + s).exists())
    # RSS at the quarter and at the end of the crawl: growth with pages shows here.
    samples = monitor.rss_samples
    quarter = samples[len(samples) // 4][1] if samples else 0
    late = max((r for t, r in samples if t > 0.75 * wall), default=0)
    return {
        "exit_code": code, "wall_s": wall, "pages": pages, "articles": articles,
        "failures": failures, "c_pages_s": articles / wall,
        "peak_rss_mb": monitor.peak_rss / 2**20, "peak_pss_mb": monitor.peak_pss / 2**20,
        "rss_quarter_mb": quarter / 2**20, "rss_last_quarter_peak_mb": late / 2**20,
        "processes": monitor.peak_processes,
        "peak_rss_mb_by_process": {f"{monitor.labels.get(p, '?')} {p}": round(v / 2**20)
                                   for p, v in sorted(monitor.rss_by_pid.items())},
        "crawl_cpu_s": monitor.cpu_total, "crawl_cores": monitor.cpu_total / wall,
        "main_cpu_s": monitor.cpu.get(proc.pid, 0.0),
        "server_cpu_s": server_cpu, "server_cores": server_cpu / wall,
        "db_bytes": db_bytes, "kb_per_article": db_bytes / max(articles, 1) / 1024,
        "body_kb_per_article": body_bytes / max(articles, 1) / 1024,
        "kb_per_article_by_table": by_table,
        "settings": settings, "log": str(log), "db": str(db),
    }


def measure_trafilatura_cli(workdir: Path, urls: Path, server_pid: int, parallel: int,
                            expected: int) -> dict:
    config = workdir / "trafilatura.cfg"
    config.write_text(TRAFILATURA_CONFIG)
    out = workdir / "trafilatura-out"
    shutil.rmtree(out, ignore_errors=True)
    command = [str(BIN / "trafilatura"), "--input-file", str(urls), "--parallel",
               str(parallel), "--config-file", str(config), "-o", str(out)]
    server_before = cpu_seconds(server_pid) or 0.0
    started = time.perf_counter()
    with open(workdir / "trafilatura.log", "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        with TreeMonitor(proc.pid) as monitor:
            code = proc.wait()
    wall = time.perf_counter() - started
    server_cpu = (cpu_seconds(server_pid) or 0.0) - server_before
    written = sum(1 for p in out.rglob("*") if p.is_file()) if out.exists() else 0
    return {"exit_code": code, "wall_s": wall, "urls": expected, "outputs": written,
            "d_pages_s": expected / wall, "cli_cores": monitor.cpu_total / wall,
            "server_cores": server_cpu / wall, "peak_rss_mb": monitor.peak_rss / 2**20,
            "parallel": parallel}


def measure_growth(sizes: list[int]) -> list[dict]:
    script = ROOT / "bench" / "dedup_cost.py"
    result = subprocess.run([sys.executable, str(script), "--sizes", *map(str, sizes),
                             "--json"],
                            capture_output=True, text=True, check=True)
    text = result.stdout
    return json.loads(text[text.index("\n["):] if not text.startswith("[") else text)


# -- the report ---------------------------------------------------------------------------


def verdict(value: float | None, target: float, higher: bool = True) -> str:
    if value is None:
        return "-"
    ok = value >= target if higher else value <= target
    return "met" if ok else "MISSED"


def mean_extraction(results: dict) -> dict | None:
    """a and b: the mean of the runs before and after the crawls, when both were made."""
    runs = [r for r in (results.get("extraction"), results.get("extraction_after")) if r]
    if not runs:
        return None
    return {**runs[0], **{key: sum(r[key] for r in runs) / len(runs)
                          for key in ("a_pages_s", "b_pages_s")}}


def report(results: dict) -> str:
    rows: list[tuple[str, str, str, str]] = []
    ext, crawl, cli = mean_extraction(results), results.get("crawl"), results.get("cli")
    growth = results.get("growth")
    a = ext["a_pages_s"] if ext else None
    site = results["site"]
    rows.append(("site", f"{site['pages']} pages, mean {site['mean_kb']} KB "
                 f"({site['min_kb']}-{site['max_kb']})", "", ""))
    if ext:
        before, after = results["extraction"], results.get("extraction_after")
        spread = (f"before the crawls {before['a_pages_s']:.1f}, after {after['a_pages_s']:.1f}"
                  if after else "")
        rows.append(("a  bare trafilatura.extract, 1 process",
                     f"{a:.1f} pages/s", spread, f"{ext['pages']} pages"))
        rows.append(("b  extract_article, 1 process", f"{ext['b_pages_s']:.1f} pages/s",
                     f"b/a = {ext['b_pages_s'] / a:.2f}",
                     f"target >= {TARGETS['b/a']}: {verdict(ext['b_pages_s'] / a, 0.9)}"))
    if crawl:
        c = crawl["c_pages_s"]
        ratio = f"c/a = {c / a:.2f}" if a else ""
        rows.append(("c  newsarchive crawl, end to end", f"{c:.1f} pages/s", ratio,
                     f"target c/a >= {TARGETS['c/a']}: "
                     f"{verdict(c / a if a else None, TARGETS['c/a'])}"))
        rows.append(("   articles stored / failures", f"{crawl['articles']} / "
                     f"{crawl['failures']}", f"{crawl['wall_s']:.1f} s wall", ""))
        rows.append(("   peak RSS, crawl tree summed", f"{crawl['peak_rss_mb']:.0f} MB",
                     f"PSS {crawl['peak_pss_mb']:.0f} MB",
                     f"target PSS <= {TARGETS['pss_mb']} MB: "
                     f"{verdict(crawl['peak_pss_mb'], TARGETS['pss_mb'], higher=False)}"))
        rows.append(("   peak RSS by process", ", ".join(
            f"{name.split()[0]} {mb}" for name, mb in crawl["peak_rss_mb_by_process"].items()),
            "", ""))
        rows.append(("   RSS at 1/4 vs in the last 1/4", f"{crawl['rss_quarter_mb']:.0f} MB",
                     f"{crawl['rss_last_quarter_peak_mb']:.0f} MB", "not growing with pages"))
        rows.append(("   archive per article (with raw page)",
                     f"{crawl['kb_per_article']:.1f} KB",
                     f"body {crawl['body_kb_per_article']:.1f} KB",
                     f"target <= {TARGETS['kb_per_article']} KB: "
                     f"{verdict(crawl['kb_per_article'], 30, higher=False)}"))
        tables = crawl.get("kb_per_article_by_table") or {}
        if tables:
            top = sorted(tables.items(), key=lambda kv: -kv[1])[:5]
            other = sum(tables.values()) - sum(kb for _, kb in top)
            rows.append(("   per article by table (dbstat)",
                         ", ".join(f"{name} {kb:.1f}" for name, kb in top[:3]),
                         ", ".join(f"{name} {kb:.1f}" for name, kb in top[3:]),
                         f"other {other:.1f} KB"))
        for option in results.get("compression", []):
            rows.append((f"   body: {option['method']}", f"{option['kb_per_page']:.1f} KB",
                         f"{option['ms_per_page']:.1f} ms", ""))
        rows.append(("   CPU: crawl tree / server", f"{crawl['crawl_cores']:.2f} cores",
                     f"{crawl['server_cores']:.3f} cores",
                     f"main process {crawl['main_cpu_s'] / crawl['wall_s']:.2f} cores"))
    base = results.get("crawl_baseline")
    if base:
        c0 = base["c_pages_s"]
        rows.append(("c' the same crawl, baseline code", f"{c0:.1f} pages/s",
                     f"c'/a = {c0 / a:.2f}" if a else "",
                     f"c/c' = {crawl['c_pages_s'] / c0:.2f}" if crawl else ""))
        rows.append(("   peak RSS / PSS, crawl tree summed", f"{base['peak_rss_mb']:.0f} MB",
                     f"PSS {base['peak_pss_mb']:.0f} MB",
                     f"PSS c/c' = {crawl['peak_pss_mb'] / base['peak_pss_mb']:.2f}"
                     if crawl and base["peak_pss_mb"] else ""))
        rows.append(("   peak RSS by process", ", ".join(
            f"{name.split()[0]} {mb}" for name, mb in base["peak_rss_mb_by_process"].items()),
            "", ""))
        rows.append(("   CPU: crawl tree", f"{base['crawl_cores']:.2f} cores",
                     f"{base['crawl_cpu_s']:.0f} s",
                     f"this tree: {crawl['crawl_cpu_s']:.0f} s" if crawl else ""))
    if cli:
        d = cli["d_pages_s"]
        rows.append((f"d  trafilatura CLI --parallel {cli['parallel']}", f"{d:.1f} pages/s",
                     f"c/d = {crawl['c_pages_s'] / d:.2f}" if crawl else "",
                     f"target >= {TARGETS['c/d']}: "
                     f"{verdict(crawl['c_pages_s'] / d if crawl else None, TARGETS['c/d'])}"))
        rows.append(("   CPU: CLI / server", f"{cli['cli_cores']:.2f} cores",
                     f"{cli['server_cores']:.3f} cores",
                     f"{cli['outputs']} of {cli['urls']} extracted"))
    if growth:
        for row in growth:
            rows.append((f"e  store 1 more, {row['archived']:,} archived",
                         f"{row['ms_per_article']:.2f} ms",
                         f"x{row['ratio_to_reference']:.2f} of 1,000 archived, same moment",
                         ""))
        worst = max(r["ratio_to_reference"] for r in growth)
        rows[-1] = (*rows[-1][:3], f"target flat within {TARGETS['e_growth']}x: "
                    f"{verdict(worst, TARGETS['e_growth'], higher=False)}")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()
             for r in rows]
    rule = "-" * max(len(line) for line in lines)
    return "\n".join([rule, *lines, rule])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workdir", type=Path,
                        help="where the site and archives go (default: a cache directory "
                             "per page count under the system temp directory)")
    parser.add_argument("--only", default="abcde",
                        help="which parts to run, e.g. 'c' or 'abc' (default: abcde)")
    parser.add_argument("--sample", type=int, default=1000,
                        help="pages for a and b (default 1000; all when fewer)")
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 2,
                        help="trafilatura CLI --parallel (default: cores)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000],
                        help="archive sizes for e (default 1000 10000 100000)")
    parser.add_argument("-s", "--set", dest="overrides", action="append", default=[],
                        metavar="NAME=VALUE", help="an extra Scrapy setting for c")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="c for another checkout too (the code before a change), "
                             "right after this tree's, printed beside it")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.gettempdir()) / f"newsarchive-bench-{args.pages}"
    started = time.time()
    print(f"building the site in {workdir} ...", file=sys.stderr, flush=True)
    summary = synthsite.build(workdir, args.pages)
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "processor": _cpu_model(),
                    "python": platform.python_version(), "platform": platform.platform()},
        "site": {k: v for k, v in summary.items() if k != "docids"},
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
    }
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "synthsite.py"), "serve",
                               str(workdir)], stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        urls, seeds = synthsite.write_inputs(workdir, summary, base_url)
        if "a" in args.only or "b" in args.only:
            files = synthsite.article_files(workdir, summary["docids"])
            step = max(1, len(files) // args.sample)
            sample = [(base_url + path, file.read_bytes()) for path, file in files[::step]]
            print(f"a, b: extraction on {len(sample)} pages ...", file=sys.stderr, flush=True)
            results["extraction"] = measure_extraction(sample[: args.sample])
            results["compression"] = measure_compression(sample[: args.sample])
        if "c" in args.only:
            print(f"c: newsarchive crawl of {args.pages} pages ...", file=sys.stderr, flush=True)
            extra = dict(o.split("=", 1) for o in args.overrides)
            results["crawl"] = measure_crawl(workdir, seeds, args.pages, server.pid, extra)
            if args.baseline:
                print(f"c: the same crawl, {args.baseline}'s code ...", file=sys.stderr,
                      flush=True)
                results["crawl_baseline"] = measure_crawl(workdir, seeds, args.pages,
                                                          server.pid, extra,
                                                          args.baseline.resolve())
        if "extraction" in results and "c" in args.only:
            # a and b again after the crawls: the machine's speed drifts over minutes,
            # and c/a then uses the mean of both a.
            print("a, b again, after the crawls ...", file=sys.stderr, flush=True)
            results["extraction_after"] = measure_extraction(sample[: args.sample])
        if "d" in args.only:
            print(f"d: trafilatura CLI on {args.pages} URLs ...", file=sys.stderr, flush=True)
            results["cli"] = measure_trafilatura_cli(workdir, urls, server.pid, args.parallel,
                                                     args.pages)
    finally:
        server.terminate()
        server.wait()
    if "e" in args.only:
        print(f"e: bench/dedup_cost.py --sizes {' '.join(map(str, args.sizes))} ...",
              file=sys.stderr, flush=True)
        results["growth"] = measure_growth(args.sizes)
    results["elapsed_s"] = round(time.time() - started, 1)
    ext, crawl, cli = mean_extraction(results), results.get("crawl"), results.get("cli")
    results["ratios"] = {
        "b/a": ext and ext["b_pages_s"] / ext["a_pages_s"],
        "c/a": ext and crawl and crawl["c_pages_s"] / ext["a_pages_s"],
        "c/d": crawl and cli and crawl["c_pages_s"] / cli["d_pages_s"],
    }
    results["targets"] = TARGETS
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
