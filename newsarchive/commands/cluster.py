"""`newsarchive worker` and `newsarchive store`: the two halves of a cluster, and the
`--redis` side of `newsarchive crawl` (docs/cluster.md)."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from archive import resolve_db_path

REDIS_OPTION = click.option(
    "--redis", "redis_url", required=True, envvar="NEWSARCHIVE_REDIS", metavar="URL",
    help="The cluster's Redis: redis://[:PASSWORD@]HOST:6379/0, rediss:// for TLS "
         "(default: $NEWSARCHIVE_REDIS). Two clusters on one Redis: two database "
         "numbers (/0, /1).")


def _parse_overrides(overrides: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for text in overrides:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {text!r}", param_hint="--set")
        parsed[name.strip()] = value.strip()
    return parsed


def shown(redis_url: str) -> str:
    """The URL as printed: without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(redis_url)
    if parts.password is None:
        return redis_url
    user = f"{parts.username}:***@" if parts.username else ":***@"
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=user + host))


def connect_or_fail(redis_url: str) -> Any:
    """A Redis client, or a clear error naming the URL (its password hidden)."""
    import redis

    from newsarchive.cluster.runs import connect

    try:
        return connect(redis_url)
    except (redis.RedisError, ValueError) as exc:
        raise click.ClickException(f"cannot reach Redis at {shown(redis_url)}: {exc}") from None


@click.command()
@REDIS_OPTION
@click.option("--seeds", "seeds_dir", type=click.Path(path_type=Path), default=Path("seeds"),
              show_default=True, help="The seeds directory: the same on every machine.")
@click.option("-j", "--jobs", "workers", type=int, default=0,
              help="Extraction processes (default: one per core).")
@click.option("--node", help="This node's name in the archive's pages.node (default: "
              "HOST:PID).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting, e.g. -s NEWSARCHIVE_HOST_DELAY=2.")
def worker(redis_url: str, seeds_dir: Path, workers: int, node: str | None,
           overrides: tuple[str, ...]) -> None:
    """Run a crawl node until stopped: take requests from the shared frontier in Redis,
    fetch, extract, and send each result to the archive writer through Redis.

    It writes no SQLite; any number of nodes on any machines share the work, each
    host's delay (NEWSARCHIVE_HOST_DELAY, 0.5 s) holding for them all together. A
    node killed mid-crawl loses nothing: its requests go back to the frontier when
    their leases expire (NEWSARCHIVE_CLUSTER_LEASE, 60 s). SIGTERM stops it cleanly.

    \b
    Example:
        newsarchive worker --redis redis://:secret@10.0.0.5:6379/0 -j 2
    """
    from crawler.seeds import SeedsError, load_seeds
    from newsarchive.cluster.worker import run_worker, worker_settings

    connect_or_fail(redis_url).close()
    try:
        load_seeds(seeds_dir)  # a bad seeds file stops here, not in every callback
    except SeedsError as exc:
        raise click.ClickException(str(exc)) from None
    run_worker(worker_settings(redis_url, seeds_dir, workers=workers, node=node,
                               overrides=_parse_overrides(overrides)))


@click.command()
@REDIS_OPTION
@click.option("--db", type=click.Path(path_type=Path), default=None,
              help="The archive (default: $NEWSARCHIVE_DB, else ./archive.db).")
@click.option("--seeds", "seeds_dir", type=click.Path(path_type=Path), default=Path("seeds"),
              show_default=True, help="The seeds directory (for each source's revisits).")
@click.option("--consumer", help="This writer's name in the stream's consumer group "
              "(default: HOST:PID). A writer restarted under the same name takes up what it "
              "had been given at once; another waits --claim-after seconds.")
@click.option("--claim-after", type=float, default=60.0, show_default=True,
              help="Seconds after which a result given to a writer that did not "
                   "acknowledge it (it died) is taken over.")
@click.option("-v", "--verbose", is_flag=True, help="Log each run closed and each claim.")
def store(redis_url: str, db: Path | None, seeds_dir: Path, consumer: str | None,
          claim_after: float, verbose: bool) -> None:
    """Be the cluster's one archive writer, until stopped: store each result the nodes
    send, as a crawl does (same transaction, dedup, search index), acknowledging it
    after the commit; close each run when it is done.

    A result delivered twice (a writer killed after committing, before acknowledging)
    is stored once. Run one writer per archive; a second one only takes over what the
    first leaves behind. SIGTERM stops it cleanly.

    \b
    Example:
        newsarchive store --redis redis://:secret@10.0.0.5:6379/0 --db /srv/news/archive.db
    """
    from crawler.cluster.frontier import node_name
    from crawler.seeds import SeedsError, load_seeds
    from newsarchive.cluster.writer import ClusterWriter

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        sources = {s.name: s for s in load_seeds(seeds_dir)} if seeds_dir.is_dir() else {}
    except SeedsError as exc:
        raise click.ClickException(str(exc)) from None
    writer = ClusterWriter(connect_or_fail(redis_url), resolve_db_path(db), sources,
                           consumer=consumer or node_name(), claim_after=claim_after)
    stopping: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: stopping.append(number))
    Console(stderr=True).print(f"storing results from {shown(redis_url)} into "
                               f"{resolve_db_path(db)} (Ctrl-C to stop)")
    writer.run(stop=lambda: bool(stopping))
    Console(stderr=True).print(f"stopped: {writer.stored} results stored")


def crawl_on_cluster(selected: list[Any], redis_url: str, db: Path, wait: bool) -> None:
    """`newsarchive crawl --redis`: queue the sources' runs; with `wait`, report them
    once the writer has closed them (exit 1 if one failed)."""
    from crawler.cluster.keys import Keys
    from newsarchive.cluster.runs import start_run, wait_for_runs
    from newsarchive.commands.report import runs_table

    console = Console(stderr=True)
    server, keys = connect_or_fail(redis_url), Keys()
    runs = [start_run(server, source, keys=keys, db=db) for source in selected]
    for run in runs:
        console.print(f"queued run {run}")
    if not wait:
        return
    states = wait_for_runs(server, runs, keys=keys)
    rows = [{"source": s["source"], "run_id": s.get("archive_run"), "status": s["status"],
             "pages_fetched": int(s.get("pages_fetched", 0)),
             "articles_new": int(s.get("articles_new", 0)),
             "duplicates": int(s.get("duplicates", 0)), "failures": int(s.get("failures", 0))}
            for s in states.values()]
    console.print(runs_table(rows, title=f"cluster crawl into {db} (via {shown(redis_url)})"))
    if any(s["status"] != "ok" for s in states.values()):
        sys.exit(1)
