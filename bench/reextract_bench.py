"""Re-extraction against the extraction it repeats: `newsarchive reextract` beside b × workers.

    python bench/crawl_bench.py --pages 3000 --only c    # leaves an archive to re-extract
    python bench/reextract_bench.py                      # that archive ($TMPDIR)
    python bench/reextract_bench.py ARCHIVE --baseline ../base   # the code before, same run

Measures, in one run:

  b  newsarchive's extraction (pipelines.extract.extract_article) in this process, page by
     page, on a sample of the archive's own stored pages: pages/s on one core
  r  `newsarchive reextract --json -j W` over a copy of the archive, from process start to
     exit and inside the command (its report's seconds): articles/s

and prints r / (b × W), against issue 18's target of 0.9 (within 10%). W is the number of
worker processes (one per core by default). A copy is re-extracted so that each round
starts from the same archive; the copy's articles are unchanged by a run that finds the
same extraction, which a crawl by today's code gives.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from trees import tree_env  # noqa: E402

TARGET = 0.9
# Where crawl_bench.py --pages 3000 keeps its site and the archive its crawl made.
DEFAULT_ARCHIVE = Path(tempfile.gettempdir()) / "newsarchive-bench-3000" / "crawl.db"


def sample_pages(archive: Path, count: int) -> list[tuple[str, bytes, str | None, str | None]]:
    """(url, raw page, content type, profile) of `count` articles' newest pages, spread
    over the archive."""
    from archive.pagecodec import decompress_page

    conn = sqlite3.connect(archive)
    total = conn.execute("select count(*) from articles").fetchone()[0]
    step = max(1, total // count)
    rows = conn.execute(
        "select p.final_url, p.body, p.codec, p.content_type, coalesce(p.profile, a.profile) "
        "from articles a join pages p on p.id = (select max(id) from pages "
        "where article_id = a.id) where a.id % ? = 0 limit ?", [step, count]).fetchall()
    pages = [(url, decompress_page(conn, (body, codec)), ctype, profile)
             for url, body, codec, ctype, profile in rows]
    conn.close()
    return pages


def measure_b(pages: list[tuple[str, bytes, str | None, str | None]]) -> float:
    """extract_article's pages/s on one core, after one warm-up page."""
    from pipelines.extract import extract_article

    url, body, ctype, profile = pages[0]
    extract_article(body, url, content_type=ctype, profile=profile)
    started = time.perf_counter()
    for url, body, ctype, profile in pages:
        extract_article(body, url, content_type=ctype, profile=profile)
    return len(pages) / (time.perf_counter() - started)


def measure_reextract(archive: Path, workdir: Path, workers: int, tree: Path) -> dict:
    """`newsarchive reextract` of a fresh copy of the archive, with `tree`'s code."""
    copy = workdir / "reextract.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    source = sqlite3.connect(archive)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    command = [sys.executable, "-m", "newsarchive", "reextract", "--db", str(copy),
               "--json", "-j", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir,
                          env=tree_env(tree))
    wall = time.perf_counter() - started
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    checked = report.get("checked", 0)
    return {"exit_code": done.returncode, "checked": checked,
            "changed": report.get("changed"), "failed": report.get("failed"),
            "wall_s": wall, "seconds": report.get("seconds") or wall,
            "pages_s_wall": checked / wall,
            "pages_s": checked / (report.get("seconds") or wall),
            "stderr": done.stderr[-2000:] if done.returncode not in (0, 1) else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, nargs="?", default=DEFAULT_ARCHIVE,
                        help="an archive to re-extract (a copy is used); default: the "
                             "one `crawl_bench.py --pages 3000 --only c` left")
    parser.add_argument("--sample", type=int, default=300, help="pages for b")
    parser.add_argument("-j", "--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=1, help="reextract runs per tree")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="reextract with another checkout's code too, in the same run")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="newsarchive-reextract-"))
    try:
        pages = sample_pages(args.archive, args.sample)
        b = measure_b(pages)
        trees = [("this", ROOT)] + ([("before", args.baseline.resolve())]
                                    if args.baseline else [])
        runs = {name: [measure_reextract(args.archive, workdir, args.workers, tree)
                       for _ in range(args.rounds)] for name, tree in trees}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"b, extract_article on {len(pages)} stored pages, one core: {b:.1f} pages/s; "
          f"b x {args.workers} = {b * args.workers:.1f}")
    print(f"{'tree':<8} {'articles':>8} {'changed':>8} {'s':>7} {'pages/s':>8} "
          f"{'r/(b x W)':>10} {'wall s':>7} {'target':>7}")
    for name, results in runs.items():
        for r in results:
            ratio = r["pages_s"] / (b * args.workers)
            print(f"{name:<8} {r['checked']:>8} {r['changed']!s:>8} {r['seconds']:>7.1f} "
                  f"{r['pages_s']:>8.1f} {ratio:>10.2f} {r['wall_s']:>7.1f} "
                  f"{'met' if ratio >= TARGET else 'missed':>7}")
            if r["stderr"]:
                print(r["stderr"], file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"b_pages_s": b, "workers": args.workers,
                                         "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
