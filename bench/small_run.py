"""The small-run benchmark: what one scheduled run costs, from process start to exit.

    python bench/small_run.py                                  # this tree, 200 pages
    python bench/small_run.py --baseline ../main-before        # beside another checkout
    python bench/small_run.py --pages 200 --rounds 5 --json out.json

A monitor does not crawl 3,000 pages at once: each scheduled run is a new process that
finds tens to a few hundred new articles, or nothing. This measures, in one run:

  a      bare trafilatura.extract on the site's pages, one process, warm: the single-core
         baseline of bench/crawl_bench.py, measured again in every round
  small  `newsarchive crawl` of a fresh archive from a site of --pages articles
         (bench/synthsite.py, served from another process on 127.0.0.1, politeness
         lifted as in crawl_bench.py): pages/s from process start to exit; c/a
  none   the same crawl again on the archive it filled: nothing new to fetch; wall
         seconds from process start to exit, CPU seconds of the crawl process and of its
         whole tree, and how many processes it started
  sched  both runs as `newsarchive schedule` starts them: forked from the crawl launcher,
         which has the crawl's imports loaded (bench/launcher_run.py); wall seconds from
         the request to the reaped exit, and CPU seconds (wait4: the crawl process and
         what it reaped, as for the runs above). "-" for a tree that has no launcher

With --baseline TREE, each part runs for both trees (this one and TREE, a checkout of the
code before a change: `git worktree add --detach ../base main`), interleaved round by
round, alternating which goes first, with the same Python environment (PYTHONPATH puts
each tree first), so load on the machine hits both alike. The figures are medians over
the rounds; compare the ratios, not figures across runs on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import synthsite  # noqa: E402
from crawl_bench import CRAWL_SETTINGS, TreeMonitor, cpu_seconds  # noqa: E402
from trees import tree_env  # noqa: E402

TARGETS = {"small_c/a": 4.0, "none_wall_s": 1.0}


def measure_a(pages: list[tuple[str, bytes]]) -> float:
    """Bare trafilatura.extract, warm, one process: pages/s."""
    import trafilatura

    trafilatura.extract(pages[0][1])
    started = time.perf_counter()
    for _, body in pages:
        trafilatura.extract(body)
    return len(pages) / (time.perf_counter() - started)


def crawl_arguments(db: Path, seeds: Path) -> list[str]:
    """The benchmark's `newsarchive` command line: the site's source, politeness lifted."""
    args = ["crawl", "bench", "--db", str(db), "--seeds", str(seeds)]
    for key, value in CRAWL_SETTINGS.items():
        args += ["-s", f"{key}={value}"]
    return args


def run_crawl(tree: Path, db: Path, seeds: Path, workdir: Path, log: Path,
              monitored: bool) -> dict:
    """One `newsarchive crawl` of `tree`'s code, timed from process start to exit.

    Unmonitored: wall time and wait4's rusage (the process and the children it reaped:
    not the extraction workers, which the forkserver owns), nothing else running beside
    it. Monitored: the process tree sampled from /proc every 50 ms (CPU per process, PSS,
    process count); on two cores the sampling itself slows a one-second run by half, so
    walls come from the unmonitored runs."""
    command = [sys.executable, "-m", "newsarchive", *crawl_arguments(db, seeds)]
    env = tree_env(tree)
    started = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                                env=env)
        if monitored:
            with TreeMonitor(proc.pid, interval=0.05) as monitor:
                code = proc.wait()
        else:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = code = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    import sqlite3

    conn = sqlite3.connect(db)
    articles = conn.execute("select count(*) from articles").fetchone()[0]
    conn.close()
    if not monitored:
        return {"exit_code": code, "wall_s": wall, "articles": articles,
                "tree_cpu_s": usage.ru_utime + usage.ru_stime}
    return {"exit_code": code, "wall_s": wall, "articles": articles,
            "main_cpu_s": monitor.cpu.get(proc.pid, 0.0), "tree_cpu_s": monitor.cpu_total,
            "processes": monitor.peak_processes, "peak_pss_mb": monitor.peak_pss / 2**20,
            "peak_rss_mb": monitor.peak_rss / 2**20}


def run_scheduled(tree: Path, db: Path, seeds: Path, workdir: Path, rounds: int = 3,
                  new_archive: bool = False) -> list[dict]:
    """The crawl forked by `tree`'s crawl launcher, `rounds` times, on `db` as it is or
    (`new_archive`) on a fresh one; [] for a tree that has no launcher, `db` untouched."""
    if not (tree / "newsarchive" / "schedule" / "launcher.py").exists():
        return []
    if new_archive:
        fresh(db)
    command = [sys.executable, str(ROOT / "bench" / "launcher_run.py"), "--rounds",
               str(rounds), "--", *crawl_arguments(db, seeds)]
    out = subprocess.run(command, env=tree_env(tree), cwd=workdir, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1]) or []


def fresh(db: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return db


def check_tree(tree: Path) -> None:
    """The tree's own code is what runs (PYTHONPATH before the installed project)."""
    env = tree_env(tree)
    where = subprocess.run([sys.executable, "-c", "import crawler.pool, archive.fts; "
                            "print(crawler.pool.__file__)"], env=env, capture_output=True,
                           text=True, check=True, cwd=tempfile.gettempdir()).stdout.strip()
    if not where.startswith(str(tree)):
        raise SystemExit(f"{tree}: its code is not what runs ({where})")


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def report(results: dict) -> str:
    a = statistics.median(results["a_pages_s"])
    names = list(results["trees"])
    lines = [f"site: {results['pages']} pages; a (bare trafilatura.extract, 1 process) "
             f"{a:.1f} pages/s (median of {len(results['a_pages_s'])}: "
             f"{', '.join(f'{x:.1f}' for x in results['a_pages_s'])})",
             f"load average at start / end: {results['load_start']} / {results['load_end']}",
             ""]
    header = f"{'':44}" + "".join(f"{n:>22}" for n in names)
    if len(names) == 2:
        header += f"{'this/baseline':>16}"
    lines.append(header)

    def row(label: str, values: list[float], fmt: str, target: str = "") -> None:
        text = f"{label:44}" + "".join(
            f"{format(v, fmt) if v == v else '-':>22}" for v in values)  # NaN: not measured
        if len(values) == 2 and values[1] and values[0] == values[0] and values[1] == values[1]:
            text += f"{values[0] / values[1]:>16.2f}"
        lines.append(text + (f"   {target}" if target else ""))

    small = {n: results["trees"][n]["small"] for n in names}
    none = {n: results["trees"][n]["none"] for n in names}
    small_mem = {n: results["trees"][n]["small_mem"] for n in names}
    none_mem = {n: results["trees"][n]["none_mem"] for n in names}
    c = [results["pages"] / median(small[n], "wall_s") for n in names]
    row("small: pages/s, process start to exit", c, ".1f")
    verdicts = ["met" if x / a >= TARGETS["small_c/a"] else "MISSED" for x in c]
    row("small: c/a", [x / a for x in c], ".2f",
        f"target >= {TARGETS['small_c/a']}: {', '.join(verdicts)}")
    row("small: wall s", [median(small[n], "wall_s") for n in names], ".2f")
    row("small: CPU s, wait4 (crawl, what it reaped)",
        [median(small[n], "tree_cpu_s") for n in names], ".2f")
    row("small: CPU s, crawl process (monitored)",
        [median(small_mem[n], "main_cpu_s") for n in names], ".2f")
    row("small: peak PSS MB, crawl tree (monitored)",
        [median(small_mem[n], "peak_pss_mb") for n in names], ".0f")
    row("small: articles stored", [median(small[n], "articles") for n in names], ".0f")
    walls = [median(none[n], "wall_s") for n in names]
    verdicts = ["met" if w <= TARGETS["none_wall_s"] else "MISSED" for w in walls]
    row("nothing new: wall s", walls, ".2f",
        f"target <= {TARGETS['none_wall_s']} s: {', '.join(verdicts)}")
    row("nothing new: CPU s, wait4", [median(none[n], "tree_cpu_s") for n in names],
        ".2f")
    row("nothing new: wall s (monitored)", [median(none_mem[n], "wall_s") for n in names],
        ".2f")
    row("nothing new: processes (monitored)",
        [median(none_mem[n], "processes") for n in names], ".0f")
    row("nothing new: peak PSS MB (monitored)",
        [median(none_mem[n], "peak_pss_mb") for n in names], ".0f")
    small_sched = {n: results["trees"][n]["small_scheduled"] for n in names}
    speeds = [results["pages"] / median(small_sched[n], "wall_s") if small_sched[n]
              else float("nan") for n in names]
    verdicts = ["met" if x / a >= TARGETS["small_c/a"] else "MISSED" for x in speeds if x == x]
    row("small, scheduled (launcher): c/a", [x / a for x in speeds], ".2f",
        f"target >= {TARGETS['small_c/a']}: {', '.join(verdicts)}" if verdicts else "")
    row("small, scheduled (launcher): CPU s, wait4",
        [median(small_sched[n], "cpu_s") if small_sched[n] else float("nan") for n in names],
        ".2f")
    scheduled = {n: results["trees"][n]["scheduled"] for n in names}
    walls = [median(scheduled[n], "wall_s") if scheduled[n] else float("nan") for n in names]
    verdicts = ["met" if w <= TARGETS["none_wall_s"] else "MISSED" for w in walls if w == w]
    row("nothing new, scheduled (launcher): wall s", walls, ".2f",
        f"target <= {TARGETS['none_wall_s']} s: {', '.join(verdicts)}" if verdicts else "")
    row("nothing new, scheduled (launcher): CPU s, wait4",
        [median(scheduled[n], "cpu_s") if scheduled[n] else float("nan") for n in names],
        ".2f")
    lines.append("")
    lines.append("The machine is shared: figures move with others' load; the ratios between "
                 "trees, measured round by round, hold better.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", type=int, default=60,
                        help="pages for a in each round (default 60)")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="another checkout of the project, measured the same way")
    parser.add_argument("--workdir", type=Path,
                        help="where the site and archives go (default: a cache directory "
                             "per page count under the system temp directory)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = parser.parse_args()

    trees = {"this": ROOT}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
    for tree in trees.values():
        check_tree(tree)
    workdir = args.workdir or Path(tempfile.gettempdir()) / f"newsarchive-small-{args.pages}"
    summary = synthsite.build(workdir, args.pages)
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "synthsite.py"), "serve",
                               str(workdir)], stdout=subprocess.PIPE, text=True)
    results: dict = {"pages": args.pages, "a_pages_s": [],
                     "trees": {name: {"path": str(path), "small": [], "none": [],
                                      "small_mem": [], "none_mem": [], "scheduled": [],
                                      "small_scheduled": []}
                               for name, path in trees.items()},
                     "load_start": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    try:
        base_url = server.stdout.readline().strip()
        _, seeds = synthsite.write_inputs(workdir, summary, base_url)
        files = synthsite.article_files(workdir, summary["docids"])
        sample = [(base_url + path, file.read_bytes()) for path, file in files[: args.sample]]
        server_cpu = cpu_seconds(server.pid) or 0.0
        for round_ in range(args.rounds):
            order = list(trees.items())
            if round_ % 2:
                order.reverse()
            print(f"round {round_ + 1}/{args.rounds}: a ...", file=sys.stderr, flush=True)
            results["a_pages_s"].append(measure_a(sample))
            for name, tree in order:
                db = workdir / f"small-{name}.db"
                log = workdir / f"small-{name}.log"
                print(f"  {name}: crawl of {args.pages} pages ...", file=sys.stderr,
                      flush=True)
                for monitored in (False, True):
                    results["trees"][name]["small" + "_mem" * monitored].append(
                        run_crawl(tree, fresh(db), seeds, workdir, log, monitored))
                # Last: the run just after this one writes while the kernel still writes
                # back this one's archive. The monitored run's archive is made again.
                results["trees"][name]["small_scheduled"] += run_scheduled(
                    tree, db, seeds, workdir, rounds=1, new_archive=True)
            for name, tree in order:
                print(f"  {name}: a run that finds nothing new ...", file=sys.stderr,
                      flush=True)
                for monitored in (False, True):
                    results["trees"][name]["none" + "_mem" * monitored].append(
                        run_crawl(tree, workdir / f"small-{name}.db", seeds, workdir,
                                  workdir / f"small-{name}.log", monitored))
                results["trees"][name]["scheduled"] += run_scheduled(
                    tree, workdir / f"small-{name}.db", seeds, workdir)
        results["server_cpu_s"] = (cpu_seconds(server.pid) or 0.0) - server_cpu
    finally:
        server.terminate()
        server.wait()
    results["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
