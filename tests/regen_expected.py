"""Regenerate every article fixture's expected.json from the current extraction.

    python tests/regen_expected.py      # rewrites them, prints which changed
    git diff tests/fixtures             # review before committing

An article fixture is a directory under tests/fixtures/<group>/<case>/ holding page.html,
response.json and truth.json. The extraction tests import `fixture_dirs` and
`extract_fixture` from here, so the snapshot and the test run the very same call.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from pipelines.extract import extract_article  # noqa: E402
from pipelines.types import Article  # noqa: E402


def fixture_dirs() -> list[Path]:
    """Article fixture directories (the ones with hand-made ground truth), sorted."""
    return sorted(
        p.parent
        for p in FIXTURES.glob("*/*/truth.json")
        if (p.parent / "page.html").is_file() and (p.parent / "response.json").is_file()
    )


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def header(response: dict[str, Any], name: str) -> str | None:
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def extract_fixture(case: Path) -> Article | None:
    """Extract a fixture page as the crawler would have: its real URL, headers, time."""
    response = load_json(case / "response.json")
    return extract_article(
        (case / "page.html").read_bytes(),
        response["url"],
        content_type=header(response, "Content-Type"),
        fetched_at=response.get("fetched_at"),
    )


def dump(article: Article | None) -> str:
    return json.dumps(article, ensure_ascii=False, indent=1) + "\n"


def main() -> int:
    changed = 0
    for case in fixture_dirs():
        target = case / "expected.json"
        new = dump(extract_fixture(case))
        old = target.read_text(encoding="utf-8") if target.exists() else None
        name = case.relative_to(FIXTURES)
        if new == old:
            print(f"  unchanged  {name}")
            continue
        target.write_text(new, encoding="utf-8")
        changed += 1
        print(f"  {'new' if old is None else 'CHANGED':9}  {name}")
    print(f"{changed} expected.json file(s) written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
