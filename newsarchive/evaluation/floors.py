"""Quality floors: the scores the fixture set must keep, and the check against them.

A floor is the score measured when it was last written, rounded down. A change that
lowers any score fails the test suite until someone rewrites the floors on purpose
(`newsarchive eval tests/fixtures --write-floors tests/quality_floors.json`) and the
diff of the floors file shows what got worse in review.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from newsarchive.evaluation.scoring import PageScore, summarize

WRITE_COMMAND = "newsarchive eval tests/fixtures --write-floors tests/quality_floors.json"
# Float noise must not fail an unchanged extractor.
EPSILON = 1e-9
OVERALL_RATES = ("f1_macro", "f1_micro", "title_rate", "date_rate", "author_rate",
                 "publisher_rate")
PAGE_MARKS = ("title_ok", "date_ok", "author_ok", "publisher_ok")


def _down(value: float) -> float:
    return math.floor(value * 10_000 + EPSILON) / 10_000


def _by_profile(scores: Mapping[str, PageScore], profiles: Mapping[str, str]
                ) -> dict[str, list[PageScore]]:
    groups: dict[str, list[PageScore]] = {}
    for case, score in sorted(scores.items()):
        groups.setdefault(profiles.get(case, "generic"), []).append(score)
    return groups


def make_floors(scores: Mapping[str, PageScore],
                profiles: Mapping[str, str] | None = None) -> dict:
    """Floors from one run's scores (case id -> our score); with `profiles` (case id ->
    the site profile that extracted it) also one floor per profile."""
    overall = summarize(list(scores.values()))
    per_profile = {
        name: {"pages": len(group), "f1_macro": _down(summarize(group)["f1_macro"])}
        for name, group in _by_profile(scores, profiles or {}).items()
    } if profiles is not None else {}
    return {
        "about": f"Minimum extraction quality of the fixtures. Regenerate: {WRITE_COMMAND}",
        "overall": {
            **{k: _down(overall[k]) for k in OVERALL_RATES if overall[k] is not None},
            "leaks": overall["leaks"],
        },
        **({"profiles": per_profile} if per_profile else {}),
        "pages": {
            case: {"f1": _down(s.body.f1), **{key: getattr(s, key) for key in PAGE_MARKS},
                   "leaks": len(s.leaks)}
            for case, s in sorted(scores.items())
        },
    }


def _page_violations(case: str, score: PageScore, floor: Mapping) -> list[str]:
    found = []
    if score.body.f1 + EPSILON < floor.get("f1", 0.0):
        found.append(f"{case}: body F1 {score.body.f1:.4f} < floor {floor['f1']:.4f}")
    for key in PAGE_MARKS:
        if floor.get(key) is True and getattr(score, key) is not True:
            found.append(f"{case}: {key} was true, now {getattr(score, key)}")
    if len(score.leaks) > floor.get("leaks", 0):
        found.append(f"{case}: {len(score.leaks)} leaks > {floor.get('leaks', 0)}:"
                     f" {list(score.leaks)}")
    return found


def check_floors(scores: Mapping[str, PageScore], floors: Mapping,
                 profiles: Mapping[str, str] | None = None) -> list[str]:
    """Every way `scores` fall short of `floors`, as sentences; empty when they keep them.
    A case without a floor is a violation too: floors are written consciously for every
    case. (A floor without its case is not: see `stale_floors`.) With `profiles` (case
    id -> profile), each profile's macro F1 is held to its floor as well."""
    pages: Mapping[str, Mapping] = floors.get("pages", {})
    found: list[str] = []
    for case in sorted(set(scores) - set(pages)):
        found.append(f"{case}: no floor (new case? run `{WRITE_COMMAND}`)")
    for case in sorted(set(scores) & set(pages)):
        found.extend(_page_violations(case, scores[case], pages[case]))
    found.extend(_overall_violations(list(scores.values()), floors.get("overall", {})))
    if profiles is not None:
        found.extend(_profile_violations(_by_profile(scores, profiles),
                                         floors.get("profiles", {})))
    return found


def uncovered_profiles(names: Sequence[str], floors: Mapping) -> list[str]:
    """The site profiles (by name) that have no floor: no fixture page measures them."""
    return sorted(set(names) - set(floors.get("profiles", {})))


def _profile_violations(groups: Mapping[str, list[PageScore]], floor: Mapping
                        ) -> list[str]:
    found = []
    for name, group in sorted(groups.items()):
        if name not in floor:
            found.append(f"profile {name}: no floor (run `{WRITE_COMMAND}`)")
            continue
        f1 = summarize(group)["f1_macro"]
        if f1 + EPSILON < floor[name]["f1_macro"]:
            found.append(f"profile {name}: body F1 {f1:.4f} < floor"
                         f" {floor[name]['f1_macro']:.4f}")
    return found


def stale_floors(scores: Mapping[str, PageScore], floors: Mapping) -> list[str]:
    """Floors of cases that are not there. Worth a warning, not a failure: a checkout
    may lack a case another branch added with its floor, and the next write drops it."""
    return sorted(set(floors.get("pages", {})) - set(scores))


def _overall_violations(scores: Sequence[PageScore], floor: Mapping) -> list[str]:
    overall = summarize(scores)
    found = []
    for key in OVERALL_RATES:
        if key in floor and (overall[key] or 0.0) + EPSILON < floor[key]:
            found.append(f"overall {key} {overall[key]} < floor {floor[key]}")
    if overall["leaks"] > floor.get("leaks", 0):
        found.append(f"overall leaks {overall['leaks']} > {floor.get('leaks', 0)}")
    return found
