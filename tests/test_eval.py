"""`newsarchive eval`: the scoring rules, the three ground-truth layouts, the command."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, article_cases
from newsarchive.cli import cli
from newsarchive.evaluation.evalsets import EvalSetError, discover
from newsarchive.evaluation.scoring import (
    credit_ok,
    date_ok,
    leaks,
    overlap,
    same_day,
    score_page,
    summarize,
    title_ok,
    tokens,
)


def test_a_token_is_one_cjk_character_or_one_letter_digit_run_casefolded() -> None:
    assert tokens("网易News发布iPhone-17评测, 2025年11月!") == [
        "网", "易", "news", "发", "布", "iphone", "17", "评", "测", "2025", "年", "11", "月"]
    assert tokens("Straße ＡＢＣ") == ["strasse", "ａｂｃ"]
    assert tokens("ひらがなカナ한국") == list("ひらがなカナ한국")
    assert tokens("𠀀x") == ["𠀀", "x"]  # extension B ideographs are CJK too
    assert tokens("under_score 1.5") == ["under", "score", "1", "5"]
    # a decomposed accent stays in its word
    assert tokens("cafe\u0301 au lait") == ["café", "au", "lait"]
    assert tokens("") == tokens(None) == []


def test_precision_recall_f1_of_known_strings() -> None:
    same = overlap("新闻 text", "新闻 TEXT")
    assert (same.precision, same.recall, same.f1) == (1.0, 1.0, 1.0)
    one_off = overlap("a b c d", "a b c e")
    assert (one_off.common, one_off.precision, one_off.recall) == (3, 0.75, 0.75)
    assert one_off.f1 == pytest.approx(0.75)
    # a bag, not a set: repeating a token does not earn it twice
    repeated = overlap("中 中 中", "中")
    assert (repeated.precision, repeated.recall) == (pytest.approx(1 / 3), 1.0)
    assert repeated.f1 == pytest.approx(0.5)
    # extra boilerplate costs precision, a missing paragraph costs recall
    extra = overlap("正文内容 相关推荐", "正文内容")
    assert (extra.precision, extra.recall) == (pytest.approx(4 / 8), 1.0)
    nothing = overlap(None, "正文")
    assert (nothing.precision, nothing.recall, nothing.f1) == (0.0, 0.0, 0.0)
    assert overlap("", "").f1 == 1.0


def test_macro_averages_pages_and_micro_averages_tokens() -> None:
    def page(text: str, truth: str):
        return score_page(text=text, title=None, published=None, truth_text=truth,
                          truth_title=None, truth_published=None)

    short_miss = page("", "a")  # F1 0 on 1 token
    long_hit = page("b " * 99, "b " * 99)  # F1 1 on 99 tokens
    summary = summarize([short_miss, long_hit])
    assert summary["f1_macro"] == 0.5
    assert summary["recall_micro"] == 0.99
    assert summary["title_rate"] is None and summary["date_rate"] is None


def test_leaks_are_boilerplate_strings_found_in_the_text_whatever_the_whitespace() -> None:
    text = "正文第一段。\n本文来源：证券市场红周刊\n责任编辑：杨倩_NF4425\n"
    boilerplate = ["本文来源：证券市场红周刊 责任编辑：杨倩_NF4425", "相关推荐", "正文"]
    # "正文" is in the true body itself: finding it proves nothing
    assert leaks(text, boilerplate, truth_text="正文第一段。") == [boilerplate[0]]
    assert leaks(None, boilerplate) == []
    assert leaks("Notice:  The content above", ["Notice: The content above"]) != []


def test_title_matches_after_whitespace_normalisation_only() -> None:
    assert title_ok("  网易  新闻\n标题 ", "网易 新闻 标题")
    assert not title_ok("网易新闻标题", "网易 新闻 标题")
    assert not title_ok(None, "标题")
    assert title_ok("anything", None) is None


NETEASE = "https://www.163.com/dy/article/KEK0A3PK0527D7QO.html"
OTHER = "https://example.com/news/1.html"


def test_dates_match_on_the_same_instant_and_beijing_offset_on_netease() -> None:
    truth = "2025-11-14T07:16:49+08:00"
    assert date_ok("2025-11-14T07:16:49+08:00", truth, NETEASE)
    # the right instant in UTC: fine elsewhere, wrong for a NetEase archive
    assert date_ok("2025-11-13T23:16:49+00:00", truth, OTHER)
    assert not date_ok("2025-11-13T23:16:49Z", truth, NETEASE)
    # corpus truths are naive page text: Beijing time on NetEase
    assert date_ok("2019-09-07T13:43:45+08:00", "2019-09-07 13:43:45", NETEASE)
    assert not date_ok("2019-09-07T13:43:45", "2019-09-07 13:43:45", NETEASE)  # naive
    assert not date_ok("2025-11-14", truth, NETEASE)
    assert not date_ok(None, truth, NETEASE)
    assert date_ok("2025-11-14", None, NETEASE) is None
    # the day only: what bare trafilatura reports
    assert same_day("2025-11-14", truth, NETEASE)
    assert same_day("2025-11-13T23:16:49+00:00", truth, NETEASE)  # 07:16 in Beijing
    assert not same_day("2025-11-13", truth, NETEASE)


def test_a_day_alone_matches_a_day_alone_never_an_instant() -> None:
    assert date_ok("2019-06-12", "2019-06-12", NETEASE)
    assert date_ok("2019-06-12T10:21:33+08:00", "2019-06-12", NETEASE)  # the truth's day
    assert not date_ok("2019-06-13", "2019-06-12", NETEASE)
    assert not date_ok("2019-06-12", "2019-06-12T10:21:33+08:00", NETEASE)
    assert same_day("2019-06-12", "2019-06-12T10:21:33+08:00", NETEASE)


def test_author_and_publisher_match_exactly_where_there_is_truth() -> None:
    assert credit_ok("第一财经日报", "第一财经日报")
    assert not credit_ok("第一财经日报 网友评论 0 条", "第一财经日报")
    assert credit_ok(None, "")  # the truth says nobody is credited ...
    assert not credit_ok("编辑", "")  # ... so a credit is wrong
    assert credit_ok("anything", None) is None  # no truth: not counted
    page = score_page(text="正文", title=None, published=None, truth_text="正文",
                      truth_title=None, truth_published=None, author="某号",
                      publisher="网易号", truth_author="某号", truth_publisher="新华社")
    assert (page.author_ok, page.publisher_ok) == (True, False)
    summary = summarize([page])
    assert (summary["author_rate"], summary["publisher_rate"]) == (1.0, 0.0)


def _gt_layout(root: Path) -> Path:
    pages = root / "netease-dev" / "pages"
    pages.mkdir(parents=True)
    (pages / "a.html.gz").write_bytes(gzip.compress("<p>正文</p>".encode()))
    (pages / "a.gt.json").write_text(json.dumps({
        "url": NETEASE, "title": "标题", "published": "2019-09-07 13:43:45",
        "body_text_full": "正文", "boilerplate_must_not_appear": {"crumb": ["网易首页"]},
        "source_name": "证券市场红周刊",
    }), "utf-8")
    (root / "netease-dev" / "list_pages").mkdir()  # no truth: skipped
    return pages


def _scrapinghub_layout(root: Path) -> Path:
    corpus = root / "scrapinghub-article-extraction-benchmark"
    (corpus / "html").mkdir(parents=True)
    sha = "ab" * 32
    (corpus / "html" / f"{sha}.html.gz").write_bytes(gzip.compress(b"<p>Body</p>"))
    (corpus / "ground-truth.json").write_text(json.dumps({
        sha: {"url": OTHER, "articleBody": "Body"},
        "cd" * 32: {"url": OTHER, "articleBody": "no page"},  # skipped
    }), "utf-8")
    return corpus


def test_discover_reads_every_layout_from_any_starting_point(tmp_path: Path) -> None:
    pages, corpus = _gt_layout(tmp_path), _scrapinghub_layout(tmp_path)
    everything = discover(tmp_path)
    assert [(c.set, c.id) for c in everything] == [
        ("netease-dev", "netease-dev/a"), ("scrapinghub", "scrapinghub/abababababab")]
    gt = everything[0]
    assert (gt.truth_title, gt.truth_published, gt.boilerplate) == (
        "标题", "2019-09-07 13:43:45", ("网易首页",))
    assert (gt.truth_publisher, gt.truth_author) == ("证券市场红周刊", None)
    assert discover(pages) == discover(pages / "a.html.gz") == [gt]
    assert discover(corpus / "html" / f"{'ab' * 32}.html.gz") == [everything[1]]
    with pytest.raises(EvalSetError):
        discover(tmp_path / "missing")


def test_discover_reads_the_fixtures_and_skips_pages_without_truth() -> None:
    cases = discover(FIXTURES)
    assert [c.page.parent for c in cases] == article_cases()
    first = cases[0]
    assert first.id == f"{first.page.parent.parent.name}/{first.page.parent.name}"
    assert discover(first.page.parent) == discover(first.page) == [first]
    assert all(c.url.startswith("http") and c.truth_text for c in cases)


def test_eval_on_the_fixtures_prints_json_with_the_baseline_side_by_side() -> None:
    result = CliRunner().invoke(cli, ["eval", str(FIXTURES), "--json", "--baseline"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ids = [f"{p.parent.name}/{p.name}" for p in article_cases()]
    assert [r["id"] for r in data["results"]] == ids
    ours, base = data["sets"]["fixtures"]["ours"], data["sets"]["fixtures"]["baseline"]
    assert ours["pages"] == base["pages"] == len(ids)
    for summary in (ours, base):
        assert 0 <= summary["f1_macro"] <= 1 and 0 <= summary["f1_micro"] <= 1
    for row in data["results"]:
        assert set(row["ours"]) >= {"precision", "recall", "f1", "title_ok", "date_ok",
                                    "leaks"}
        assert "baseline" in row
    assert "pages in" in result.stderr
    # per site profile, with the pages trafilatura found and we did not
    profiles = data["profiles"]
    assert set(profiles) == {r["profile"] for r in data["results"]} >= {"netease", "generic"}
    assert sum(p["ours"]["pages"] for p in profiles.values()) == len(ids)
    assert all(p["lost"] == 0 for p in profiles.values())
    assert data["sets"]["fixtures"]["ours"]["author_rate"] == 1.0
    assert data["sets"]["fixtures"]["ours"]["publisher_rate"] == 1.0


def test_eval_lists_a_page_without_article_with_the_reasons(tmp_path: Path) -> None:
    pages = tmp_path / "lists" / "pages"
    pages.mkdir(parents=True)
    items = "".join(f"<li><a href='/a/{i}.html'>第{i}条新闻标题：某地召开会议部署工作</a></li>"
                    for i in range(20))
    (pages / "roll.html").write_text(f"<html><body><ul>{items}</ul></body></html>", "utf-8")
    (pages / "roll.gt.json").write_text(json.dumps({
        "url": "https://example.org/roll/", "title": "标题", "body_text_full": "正文",
    }), "utf-8")
    result = CliRunner().invoke(cli, ["eval", str(tmp_path), "-j", "1", "--baseline"])
    assert result.exit_code == 0, result.output
    assert "lists/roll: no article" in result.stdout
    assert "headlines" in result.stdout and "per site profile" in result.stdout


def test_eval_prints_tables_and_writes_floors(tmp_path: Path) -> None:
    floors = tmp_path / "floors.json"
    result = CliRunner().invoke(
        cli, ["eval", str(FIXTURES), "-j", "1", "--write-floors", str(floors)])
    assert result.exit_code == 0, result.output
    assert "per page" in result.stdout and "overall: fixtures" in result.stdout
    written = json.loads(floors.read_text("utf-8"))
    assert sorted(written["pages"]) == [f"{p.parent.name}/{p.name}" for p in article_cases()]


def test_eval_refuses_a_path_without_ground_truth(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", str(tmp_path)])
    assert result.exit_code != 0
    assert "no pages with ground truth" in result.output
