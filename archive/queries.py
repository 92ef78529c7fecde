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
