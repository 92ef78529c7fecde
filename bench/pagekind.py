"""The article / not-article decision of the generic path, on real pages of both kinds.

    python bench/pagekind.py ../shared/corpora tests/fixtures \\
        --listings ../shared/corpora/netease-dev/list_pages tests/fixtures/site

Article pages are the eval sets under the positional paths (anything `newsarchive eval`
reads); listing pages are every `.html`, `.html.gz` or `page.html` under `--listings`
(no ground truth needed: none of them is an article). Every page goes through the generic
path (no site template), as a page of a site without a profile would. Per set: pages,
how many the classifier calls articles, which trafilatura mode was chosen; then every
listing taken for an article and every article declared empty, with the reasons.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from newsarchive.evaluation.evalsets import discover  # noqa: E402
from pipelines.extract import explain  # noqa: E402
from pipelines.pagefiles import read_page  # noqa: E402


def _listing_pages(root: Path) -> list[tuple[str, Path, str, str | None]]:
    pages = []
    for path in sorted(root.rglob("*")):
        if path.name.endswith((".html", ".html.gz", ".htm")) and not path.name.endswith(
            ".gt.json"
        ):
            url, ctype = "https://example.com/list/", None
            response = path.parent / "response.json"
            if path.name == "page.html" and response.is_file():
                meta = json.loads(response.read_text("utf-8"))
                url = meta["url"]
                ctype = {k.lower(): v for k, v in meta.get("headers", {}).items()}.get(
                    "content-type"
                )
            pages.append((f"listing:{root.name}", path, url, ctype))
    return pages


def _judge(job: tuple[str, Path, str, str | None]) -> tuple[str, str, list[str]]:
    set_name, page, url, ctype = job
    lines = explain(read_page(page), url, content_type=ctype, profile="generic")
    return set_name, str(page), lines


def main(argv: list[str]) -> None:
    listings = [Path(p) for p in argv[argv.index("--listings") + 1 :]] if (
        "--listings" in argv
    ) else []
    articles = argv[: argv.index("--listings")] if listings else argv
    jobs = [(c.set, c.page, c.url, c.content_type) for p in articles for c in discover(Path(p))]
    for root in listings:
        jobs.extend(_listing_pages(root))
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(_judge, jobs, chunksize=4))
    per_set: dict[str, Counter] = {}
    wrong = []
    for set_name, page, lines in results:
        chosen = next((line.split(":")[0] for line in lines if "(chosen)" in line), None)
        counts = per_set.setdefault(set_name, Counter())
        counts["pages"] += 1
        counts["article" if chosen else "not article"] += 1
        if chosen:
            counts[f"mode {chosen}"] += 1
        if (chosen is not None) == set_name.startswith("listing:"):
            wrong.append((set_name, page, lines))
    print("| set | pages | article | not article | chosen mode |")
    print("|---|---:|---:|---:|---|")
    for name, c in per_set.items():
        modes = ", ".join(f"{k[5:]} {v}" for k, v in sorted(c.items()) if k.startswith("mode "))
        print(f"| {name} | {c['pages']} | {c['article']} | {c['not article']} | {modes} |")
    print("\nwrongly judged:" if wrong else "\nno page wrongly judged")
    for set_name, page, lines in wrong:
        print(f"- {set_name} {page}")
        for line in lines:
            print(f"    {line}")


if __name__ == "__main__":
    main(sys.argv[1:])
