"""Whether an archive file is whole: SQLite's own checks, then every article's rows.

One page is stored in one transaction (page, article, URLs, search index, near-duplicate
index), so any snapshot of the archive, a backup or what a power cut leaves, must have
every article whole. `newsarchive backup --verify` and the durability tests ask this.
"""

from __future__ import annotations

import sqlite3

# Articles missing a row their transaction wrote with them.
BROKEN_ARTICLES = """
    select a.id from articles a
    where not exists (select 1 from pages p where p.article_id = a.id)
       or not exists (select 1 from article_urls u
                      where u.article_id = a.id and u.url = a.canonical_url)
       or not exists (select 1 from article_urls u where u.article_id = a.id and u.url = a.url)
       or not exists (select 1 from articles_fts f where f.rowid = a.id)
       or not exists (select 1 from article_minhash m where m.article_id = a.id)
"""


def archive_problems(connection: sqlite3.Connection) -> list[str]:
    """What is wrong with the archive behind `connection`, in words; [] when it is whole."""
    problems = [f"integrity_check: {row[0]}"
                for row in connection.execute("pragma integrity_check") if row[0] != "ok"]
    if problems:
        return problems  # the rows cannot be trusted: say no more
    dangling = connection.execute("pragma foreign_key_check").fetchall()
    if dangling:
        problems.append(f"{len(dangling)} rows point at rows that are not there "
                        f"(first: table {dangling[0][0]}, rowid {dangling[0][1]})")
    tables = {row[0] for row in connection.execute(
        "select name from sqlite_master where type in ('table', 'view')")}
    if "articles" not in tables:
        return [*problems, "no articles table: not a newsarchive archive"]
    broken = [row[0] for row in connection.execute(BROKEN_ARTICLES)]
    if broken:
        problems.append(f"{len(broken)} articles lack their page, URLs or index entries "
                        f"(ids {', '.join(map(str, broken[:10]))})")
    indexed = connection.execute("select count(*) from articles_fts").fetchone()[0]
    articles = connection.execute("select count(*) from articles").fetchone()[0]
    if indexed != articles:
        problems.append(f"the search index holds {indexed} entries for {articles} articles")
    return problems


def archive_counts(connection: sqlite3.Connection) -> dict[str, int]:
    return {table: connection.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("articles", "pages", "article_urls", "failures", "crawl_runs")}
