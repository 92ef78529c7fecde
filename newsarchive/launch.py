"""The crawl launcher's program: `python -m newsarchive.launch FD`, started by the scheduler.

Beside newsarchive/__main__.py, the second program that runs the CLI. It imports what a
crawl imports (the CLI, its crawl command, and the Scrapy components the crawl's settings
name), then forks each run it is asked for on the socket FD and runs it as
`newsarchive ARGS`. The protocol, and why it exists: newsarchive/schedule/launcher.py.
"""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import newsarchive.commands.crawl
import newsarchive.commands.report
import newsarchive.watch.delivery  # noqa: F401
from newsarchive.cli import main as run_cli
from newsarchive.crawling.runner import crawl_settings
from newsarchive.schedule.launcher import Forked, become_child, ready_to_fork, serve


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the scheduler stops the crawls itself
    forked: Forked | None = None
    try:
        ready_to_fork(crawl_settings(Path("unused.db")))  # settings only: nothing is opened
        serve(control)
    except Forked as child:
        forked = child
    if forked is not None:  # outside the except block: the crawl's errors stand alone
        become_child(forked)
        run_cli(prog_name="newsarchive")


if __name__ == "__main__":
    main()
