"""Read-only queries the CLI reports from."""

from __future__ import annotations

from typing import Any

import sqlite_utils


def source_stats(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per source: articles, duplicates seen, failures, newest article, last run."""
    sql = """
    with sources as (
        select source from articles union select source from crawl_runs
    )
    select
        s.source,
        (select count(*) from articles a where a.source = s.source) as articles,
        (select max(published_at) from articles a where a.source = s.source) as newest,
        (select coalesce(sum(duplicates), 0) from crawl_runs r where r.source = s.source)
            as duplicates,
        (select count(*) from failures f join crawl_runs r on f.run_id = r.id
            where r.source = s.source) as failures,
        (select count(*) from crawl_runs r where r.source = s.source) as runs,
        (select max(started_at) from crawl_runs r where r.source = s.source) as last_run
    from sources s where s.source is not null order by s.source
    """
    return [dict(row) for row in db.query(sql)]


def recent_runs(db: sqlite_utils.Database, limit: int = 10) -> list[dict[str, Any]]:
    return list(db.query(
        "select id as run_id, source, started_at, finished_at, status, finish_reason, "
        "pages_fetched, articles_new, duplicates, failures from crawl_runs "
        "order by id desc limit ?", [limit]))


def run_failures(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    return list(db.query(
        "select url, reason, status from failures where run_id = ? order by id", [run_id]))


def duplicate_clusters(db: sqlite_utils.Database, limit: int = 50,
                       source: str | None = None) -> list[dict[str, Any]]:
    """Stories seen more than once: an original with its near-copies and extra URLs,
    the largest clusters first."""
    where = "where r.source = :source" if source else ""
    roots = list(db.query(f"""
        select r.id, r.title, r.source, r.url, r.canonical_url, r.published_at,
               (select count(*) from articles c where c.duplicate_of = r.id) as copies,
               (select count(*) from article_urls u where u.article_id = r.id
                  and u.url not in (r.url, r.canonical_url)) as urls
        from articles r {where}
        {"and" if where else "where"} r.duplicate_of is null
          and (exists (select 1 from articles c where c.duplicate_of = r.id)
               or exists (select 1 from article_urls u where u.article_id = r.id
                          and u.url not in (r.url, r.canonical_url)))
        order by copies desc, urls desc, r.id limit :limit""",
        {"limit": limit, "source": source}))
    for root in roots:
        root["members"] = list(db.query(
            "select id, title, source, url, duplicate_similarity as similarity from articles "
            "where duplicate_of = ? order by id", [root["id"]]))
        root["other_urls"] = [row["url"] for row in db.query(
            "select url from article_urls where article_id = ? and url not in (?, ?) "
            "order by url", [root["id"], root["url"], root["canonical_url"]])]
    return roots


def find_article(db: sqlite_utils.Database, url: str) -> dict[str, Any] | None:
    """The article a URL (any of its URLs, or its canonical form) leads to."""
    from pipelines.urls import canonical_url_for

    for candidate in dict.fromkeys((url, canonical_url_for(url))):
        rows = list(db.query(
            "select a.* from article_urls u join articles a on a.id = u.article_id "
            "where u.url = ?", [candidate]))
        if rows:
            return rows[0]
    return None


def article_versions(db: sqlite_utils.Database, article_id: int) -> list[dict[str, Any]]:
    return list(db.query(
        "select * from article_versions where article_id = ? order by version", [article_id]))


# Extraction health (archive/health.py) ---------------------------------------------------

HEALTH_MEASURES = ("generic", "no_date", "no_author", "short", "no_article")


def extraction_runs(db: sqlite_utils.Database, source: str,
                    limit: int = 11) -> list[dict[str, Any]]:
    """The source's last `limit` runs that stored pages with extraction recorded, newest
    first, with their pages, articles and each measure's count and share.

    Shares are of the articles extracted, `no_article` of the pages stored; `generic`
    counts pages whose profile found no template (pages of a host without a profile are
    generic by design, not counted).
    """
    from archive.health import SHORT_TEXT

    # Both queries read the covering index pages_run_extraction, not the page rows.
    run_ids = [row[0] for row in db.execute(
        "select id from crawl_runs r where source = ? and exists (select 1 from pages p "
        "where p.run_id = r.id and p.profile is not null) order by id desc limit ?",
        [source, limit])]
    if not run_ids:
        return []
    marks = ", ".join("?" * len(run_ids))
    runs = list(db.query(f"""
        select r.id as run_id, r.started_at, count(*) as pages,
               count(p.text_chars) as articles,
               total(p.text_chars is not null and p.profile != 'generic'
                     and p.template is null) as generic,
               total(p.has_date = 0) as no_date,
               total(p.has_author = 0) as no_author,
               total(p.text_chars < {int(SHORT_TEXT)}) as short,
               total(p.text_chars is null) as no_article
        from pages p join crawl_runs r on r.id = p.run_id
        where p.run_id in ({marks}) and p.profile is not null
        group by r.id order by r.id desc""", run_ids))
    for run in runs:
        for measure in HEALTH_MEASURES:
            run[measure] = int(run[measure])  # total(): 0.0, not NULL, for no rows
            whole = run["pages"] if measure == "no_article" else run["articles"]
            run[f"{measure}_share"] = round(run[measure] / whole, 3) if whole else None
    return runs


def extraction_health(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per source: the last run's extraction figures beside the average of the runs before
    it, and flags for the measures that jumped (archive/health.py: JUMP, MIN_ARTICLES)."""
    from archive.health import BASELINE_RUNS, JUMP, MIN_ARTICLES

    report = []
    sources = [row[0] for row in db.execute(
        "select distinct source from crawl_runs order by source")]
    for source in sources:
        runs = extraction_runs(db, source, BASELINE_RUNS + 1)
        if not runs:
            continue
        last, previous = runs[0], runs[1:]
        baseline: dict[str, Any] = {"runs": len(previous)}
        flags = []
        for measure in HEALTH_MEASURES:
            shares = [run[f"{measure}_share"] for run in previous
                      if run[f"{measure}_share"] is not None]
            before = round(sum(shares) / len(shares), 3) if shares else None
            baseline[f"{measure}_share"] = before
            now = last[f"{measure}_share"]
            if (before is not None and now is not None and last["articles"] >= MIN_ARTICLES
                    and now - before > JUMP):
                flags.append({"measure": measure, "share": now, "before": before})
        report.append({"source": source, "last_run": last, "previous": baseline,
                       "flags": flags})
    return report
