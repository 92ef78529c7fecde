"""The `newsarchive schedule` and `newsarchive runs` commands (scheduled monitoring)."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from archive import open_archive, resolve_db_path
from newsarchive.commands.options import DB_OPTION, SEEDS_OPTION, existing_archive

if TYPE_CHECKING:
    from crawler.seeds import Source

# The same --db/--seeds as `crawl` (not imported from cli.py: cli.py imports this module).


class Duration(click.ParamType):
    """'90s', '30m', '2h', '1d' as seconds."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, int | float):
            return float(value)
        from crawler.seeds import parse_duration

        try:
            return parse_duration(str(value)).total_seconds()
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command()
@DB_OPTION
@SEEDS_OPTION
@click.option("--jobs-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The scheduler's job store (SQLite). Default: beside the archive, "
                   "archive.db -> archive.jobs.db.")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also log to this file, rotated at 10 MB, 5 kept.")
@click.option("--list", "list_only", is_flag=True,
              help="Show each source's schedule and next run time, and exit.")
@click.option("--timeout", type=Duration(), default="1h", show_default=True,
              help="A run still going after this is stopped and recorded failed "
                   "(seeds key `timeout` overrides it per source).")
@click.option("--max-memory-mb", type=click.IntRange(min=0), default=2048, show_default=True,
              help="A run whose processes use more memory is killed and recorded failed "
                   "(seeds key `max_memory_mb` overrides it; 0: no limit).")
@click.option("--grace", type=Duration(), default="30s", show_default=True,
              help="On stop or timeout, how long a crawl may finish its in-flight pages "
                   "after SIGINT before it is killed.")
@click.option("--misfire-grace", type=Duration(), default="1d", show_default=True,
              help="A run missed while the scheduler was down is made up once at start "
                   "if it was due less than this long ago.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many sources may crawl at the same time (the archive has one "
                   "writer at a time; a due source waits for a free worker).")
@click.option("--check-seeds", type=Duration(), default="10s", show_default=True,
              help="How often to look for changed seeds files (SIGHUP: at once).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Scrapy setting for every crawl, e.g. -s DOWNLOAD_DELAY=2.")
@click.option("-v", "--verbose", is_flag=True, help="Also log each crawl's own output.")
@click.option("--redis", "redis_url", metavar="URL",
              help="Queue each slot's run on this cluster's Redis instead of crawling here "
                   "(docs/cluster.md); with several schedulers, one queues each slot.")
def schedule(db: Path | None, seeds_dir: Path, jobs_db: Path | None, log_file: Path | None,
             list_only: bool, timeout: float, max_memory_mb: int, grace: float,
             misfire_grace: float, workers: int, check_seeds: float,
             overrides: tuple[str, ...], verbose: bool, redis_url: str | None) -> None:
    """Crawl every source in seeds/ on its own `schedule`, in the foreground, until stopped.

    Each source's `schedule` is a cron string ("*/30 * * * *", Asia/Shanghai time) or an
    interval ("every 30m"; a new source's first run is at once). Each run is a separate
    `newsarchive crawl SOURCE` process, ended and recorded as failed when it crashes,
    outlives --timeout or outgrows --max-memory-mb; the scheduler carries on.

    A source never runs twice at once: a run still going at its next slot delays that
    slot until it ends. Jobs are kept in --jobs-db, so a restart keeps each source's
    next run time, and runs missed while stopped are made up once. Changed seeds files
    are picked up without a restart (a broken one is logged and the old schedule kept).
    SIGINT or SIGTERM: no new runs, running crawls finish their in-flight pages (up to
    --grace), every run is recorded, exit 0. A second signal kills them at once.

    \b
    Examples:
        newsarchive schedule --db archive.db --log-file scheduler.log
        newsarchive schedule --list
        newsarchive schedule --redis redis://:secret@10.0.0.5:6379/0
        newsarchive runs --limit 20
    """
    from crawler.seeds import SeedsError, load_seeds
    from newsarchive.schedule.scheduler import SchedulerService, Settings, default_jobs_db

    path = resolve_db_path(db).absolute()
    jobs = (jobs_db or default_jobs_db(path)).absolute()
    try:
        sources = load_seeds(seeds_dir)  # broken seeds stop it before anything is created
    except SeedsError as exc:
        raise click.ClickException(str(exc)) from None
    if list_only:
        _print_schedule(sources, path, jobs, timeout, max_memory_mb)
        return
    for override in overrides:
        if "=" not in override or override.startswith("="):
            raise click.BadParameter(f"expected NAME=VALUE, got {override!r}", param_hint="--set")
    configure_logging(log_file, verbose)
    open_archive(path).conn.close()  # create and migrate before the first child does
    settings = Settings(db=path, seeds_dir=seeds_dir.absolute(), jobs_db=jobs, timeout=timeout,
                        max_memory_mb=max_memory_mb or None, grace=grace,
                        misfire_grace=misfire_grace, workers=workers, check_seeds=check_seeds,
                        overrides=overrides, redis_url=redis_url)
    if redis_url:
        from newsarchive.commands.cluster import connect_or_fail

        connect_or_fail(redis_url).close()
    try:
        SchedulerService(settings).serve()
    except SeedsError as exc:
        raise click.ClickException(str(exc)) from None
    except RuntimeError as exc:  # another scheduler holds the job store
        raise click.ClickException(str(exc)) from None


class _SkippedSlotFilter(logging.Filter):
    # APScheduler warns "skipped: maximum number of running instances reached" when a
    # slot comes while the source is still running; the scheduler logs what it does
    # instead (the slot is delayed, not lost), so the warning would only mislead.
    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def configure_logging(log_file: Path | None, verbose: bool) -> None:
    formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                  datefmt="%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(
            log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_SkippedSlotFilter())
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("newsarchive").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # we log runs ourselves


def _print_schedule(sources: list[Any], db: Path, jobs_db: Path, timeout: float,
                    max_memory_mb: int) -> None:
    from newsarchive.schedule.schedlock import scheduler_pid

    pid = scheduler_pid(jobs_db)
    state = f"scheduler running, pid {pid}" if pid else "scheduler not running"
    table = Table(title=f"schedule ({state}; jobs in {jobs_db})", title_justify="left")
    for column in ("source", "schedule", "next run", "timeout", "memory", "last run"):
        table.add_column(column)
    for row in schedule_rows(sources, db, jobs_db, timeout, max_memory_mb):
        table.add_row(row["source"], row["schedule"], row["next_run"], row["timeout"],
                      row["memory"], row["last_run"])
    _console().print(table)


def schedule_rows(sources: list[Source], db: Path, jobs_db: Path, timeout: float,
                  max_memory_mb: int | None) -> list[dict[str, str]]:
    """Per source: its schedule, next run (from the job store), limits and last run."""
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.interval import IntervalTrigger

    from crawler.seeds import parse_schedule
    from newsarchive.schedule.schedlock import scheduler_pid
    from newsarchive.schedule.scheduler import TIMEZONE, describe_time
    from newsarchive.schedule.supervise import format_seconds

    now = datetime.now(ZoneInfo(TIMEZONE))
    jobs = stored_jobs(jobs_db)
    last = last_runs(db)
    running = scheduler_pid(jobs_db) is not None
    rows = []
    for source in sources:
        job = jobs.get(source.name)
        if not source.schedule:
            next_run = "not scheduled (no `schedule` in the seeds)"
        elif job is None or job.kwargs.get("schedule") != source.schedule:
            trigger = parse_schedule(source.schedule)
            if isinstance(trigger, IntervalTrigger) and job is None:
                next_run = "at once when the scheduler starts"
            else:
                next_run = describe_time(trigger.get_next_fire_time(None, now), now) + (
                    "" if running else ", once the scheduler runs")
        elif job.next_run_time is None:
            next_run = "paused"
        elif job.next_run_time < now and not running:
            next_run = (f"missed {describe_time(job.next_run_time, now)}: runs once when the "
                        "scheduler starts")
        else:
            next_run = describe_time(job.next_run_time, now)
        seconds = source.timeout.total_seconds() if source.timeout else timeout
        memory = source.max_memory_mb or max_memory_mb
        run = last.get(source.name)
        rows.append({
            "source": source.name, "schedule": source.schedule or "", "next_run": next_run,
            "timeout": format_seconds(seconds), "memory": f"{memory} MB" if memory else "no limit",
            "last_run": f"{run['status']}, {_local(run['started_at'])}" if run else "never",
        })
    return rows


def stored_jobs(jobs_db: Path) -> dict[str, Any]:
    """The jobs in a job store, read without starting a scheduler (none if no file)."""
    if not jobs_db.exists():
        return {}
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url=f"sqlite:///{jobs_db}")
    store.start(None, "default")
    try:
        return {job.id: job for job in store.get_all_jobs()}
    finally:
        store.shutdown()


def last_runs(db: Path) -> dict[str, dict[str, Any]]:
    if not db.exists():
        return {}
    database = open_archive(db)
    try:
        return {row["source"]: row for row in database.query(
            "select source, status, started_at from crawl_runs where id in "
            "(select max(id) from crawl_runs group by source)")}
    finally:
        database.conn.close()


@click.command()
@DB_OPTION
@click.option("--limit", default=20, show_default=True, help="How many runs to list.")
@click.option("--source", "source_name", default=None, help="Only this source's runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def runs(db: Path | None, limit: int, source_name: str | None, as_json: bool) -> None:
    """List the most recent crawl runs, newest first, scheduled or not.

    For each: source, start, duration, status (ok, failed, interrupted, running), pages
    fetched, new articles, duplicates, failed URLs, and why a run failed.

    \b
    Examples:
        newsarchive runs
        newsarchive runs --source netease-news --limit 5
    """
    path = existing_archive(db)
    database = open_archive(path)
    rows = recent_runs(database, limit, source_name)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"last runs in {path}", title_justify="left")
    for column in ("run", "source", "started", "duration", "status", "fetched", "new",
                   "duplicates", "failed", "reason"):
        table.add_column(column, justify="right" if column in (
            "run", "duration", "fetched", "new", "duplicates", "failed") else "left")
    for row in rows:
        style = {"ok": "green", "running": "yellow", "interrupted": "yellow"}.get(
            row["status"], "red")
        table.add_row(str(row["id"]), row["source"], _local(row["started_at"]),
                      _duration(row), f"[{style}]{row['status']}[/{style}]",
                      *(str(row[k] or 0) for k in ("pages_fetched", "articles_new",
                                                   "duplicates", "failures")),
                      "" if row["status"] == "ok" else (row["finish_reason"] or ""))
    _console().print(table)


def _console() -> Console:
    # Piped or redirected output gets a wide table rather than rich's 80 columns.
    return Console(width=None if sys.stdout.isatty() else 200)


def recent_runs(database: Any, limit: int, source: str | None = None) -> list[dict[str, Any]]:
    where, params = ("where source = ?", [source]) if source else ("", [])
    return [dict(row) for row in database.query(
        "select id, source, started_at, finished_at, status, finish_reason, pages_fetched, "
        f"articles_new, duplicates, failures, pid from crawl_runs {where} "
        "order by id desc limit ?", [*params, limit])]


def _local(stamp: str | None) -> str:
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _duration(row: dict[str, Any]) -> str:
    from newsarchive.schedule.supervise import format_seconds

    if not row["started_at"]:
        return ""
    start = datetime.fromisoformat(row["started_at"])
    if not row["finished_at"]:
        return "…" if row["status"] == "running" else ""
    return format_seconds((datetime.fromisoformat(row["finished_at"]) - start).total_seconds())
