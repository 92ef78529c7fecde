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
