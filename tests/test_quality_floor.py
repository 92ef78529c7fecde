"""The extraction quality gate: the fixtures must keep the scores in quality_floors.json.

A change that lowers any page's body F1, loses a title or date that matched, or leaks
boilerplate fails here until the floors are rewritten on purpose:

    newsarchive eval tests/fixtures --write-floors tests/quality_floors.json

and the floors' diff shows the reviewer what got worse.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from conftest import FIXTURES
from newsarchive.evaluation.evalsets import discover
from newsarchive.evaluation.evaluate import CaseResult, evaluate
from newsarchive.evaluation.floors import (
    WRITE_COMMAND,
    check_floors,
    make_floors,
    stale_floors,
    uncovered_profiles,
)
from newsarchive.evaluation.scoring import PageScore, score_page
from pipelines.sites import PROFILES

FLOORS = Path(__file__).parent / "quality_floors.json"


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    return evaluate(discover(FIXTURES))


@pytest.fixture(scope="module")
def scores(results: list[CaseResult]) -> dict[str, PageScore]:
    return {r.case.id: r.ours for r in results}


def test_the_fixtures_keep_their_quality_floors(results: list[CaseResult],
                                               scores: dict[str, PageScore]) -> None:
    if not FLOORS.is_file():
        pytest.fail(f"{FLOORS.name} is missing: write it with `{WRITE_COMMAND}`")
    floors = json.loads(FLOORS.read_text("utf-8"))
    assert floors.get("pages"), f"{FLOORS.name} has no page floors"
    for case in stale_floors(scores, floors):
        warnings.warn(f"{FLOORS.name}: floor for {case}, which is not in tests/fixtures",
                      stacklevel=1)
    profiles = {r.case.id: r.profile for r in results}
    violations = check_floors(scores, floors, profiles)
    assert not violations, "extraction quality fell below the floors:\n" + "\n".join(
        violations) + f"\nIf that is intended, rewrite the floors: {WRITE_COMMAND}"


def test_the_floors_require_no_leaks_on_the_fixtures() -> None:
    """Floors record what is; this keeps them from recording a leak as acceptable."""
    floors = json.loads(FLOORS.read_text("utf-8")) if FLOORS.is_file() else {}
    assert floors.get("overall", {}).get("leaks") == 0
    assert all(page["leaks"] == 0 for page in floors.get("pages", {}).values())


def _score(text: str, title: str = "标题", leaked: bool = False) -> PageScore:
    return score_page(text=text + (" 相关推荐" if leaked else ""), title=title,
                      published="2025-11-14T07:16:49+08:00", truth_text="正文一二三四",
                      truth_title="标题", truth_published="2025-11-14T07:16:49+08:00",
                      boilerplate=["相关推荐"], url="https://www.163.com/a.html")


def test_any_drop_below_a_floor_is_a_violation() -> None:
    good = {"a": _score("正文一二三四"), "b": _score("正文一二三四")}
    floors = make_floors(good)
    assert check_floors(good, floors) == []
    worse_body = {**good, "a": _score("正文一二")}
    assert any("a: body F1" in v for v in check_floors(worse_body, floors))
    assert any("overall f1_macro" in v for v in check_floors(worse_body, floors))
    lost_title = {**good, "b": _score("正文一二三四", title="别的")}
    assert any("b: title_ok" in v for v in check_floors(lost_title, floors))
    leaking = {**good, "a": _score("正文一二三四", leaked=True)}
    assert any("a: 1 leaks" in v for v in check_floors(leaking, floors))
    # better than the floor is fine
    assert check_floors(good, make_floors(worse_body)) == []


def test_a_case_without_a_floor_is_a_violation_a_floor_without_a_case_is_stale() -> None:
    good = {"a": _score("正文一二三四")}
    floors = make_floors(good)
    new_case = check_floors({**good, "new": _score("正文")}, floors)
    assert any(v.startswith("new: no floor") for v in new_case)
    assert stale_floors({}, floors) == ["a"]
    assert stale_floors(good, floors) == []


def test_every_site_profile_has_fixtures_and_a_floor(results: list[CaseResult]) -> None:
    """A profile without a fixture page is a profile nobody measures."""
    floors = json.loads(FLOORS.read_text("utf-8"))
    names = [*PROFILES, "generic"]
    assert uncovered_profiles(names, floors) == [], f"write fixtures, then `{WRITE_COMMAND}`"
    measured = {r.profile for r in results}
    assert set(names) <= measured, f"no fixture extracted by {set(names) - measured}"


def test_a_profile_below_its_floor_is_a_violation() -> None:
    good = {"a": _score("正文一二三四"), "b": _score("正文一二三四")}
    profiles = {"a": "netease", "b": "sina"}
    floors = make_floors(good, profiles)
    assert set(floors["profiles"]) == {"netease", "sina"}
    assert check_floors(good, floors, profiles) == []
    worse = {**good, "b": _score("正文一二")}
    assert any(v.startswith("profile sina: body F1") for v in check_floors(worse, floors,
                                                                          profiles))
    assert uncovered_profiles(["netease", "sina", "ifeng"], floors) == ["ifeng"]
    assert any("profile ifeng: no floor" in v
               for v in check_floors(good, floors, {"a": "netease", "b": "ifeng"}))
