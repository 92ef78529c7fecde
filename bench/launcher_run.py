"""Runs of `newsarchive crawl` as `newsarchive schedule` starts them: forked from the crawl
launcher (newsarchive/schedule/launcher.py), which has the crawl's imports loaded.

    python bench/launcher_run.py --rounds 3 -- crawl bench --db A --seeds S -s NAME=VALUE

bench/small_run.py runs it with each tree's code first on PYTHONPATH. It starts a
launcher, waits until it has forked a first command (`--version`: the launcher's own
start-up is paid once per scheduler, not per run), then times each run from the request
to the launcher's report of its end. Prints a JSON list of {"wall_s", "cpu_s",
"exit_code"} (cpu_s: wait4's, the crawl process's and what it reaped, not the extraction
workers', as small_run.py's "CPU s, wait4" of a new process), or null for a tree that
has no launcher.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the newsarchive command line")
    options = parser.parse_args()
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    try:
        from newsarchive.schedule.launcher import Launcher
    except ImportError:
        print("null")
        return
    launcher = Launcher()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        first = launcher.spawn(["--version"], env)
        first.stdout.read()
        first.wait()
        runs = []
        for _ in range(options.rounds):
            started = time.perf_counter()
            child = launcher.spawn(args, env)
            reader = threading.Thread(target=child.stdout.read)  # as the scheduler does
            reader.start()
            code = child.wait()
            reader.join()
            runs.append({"wall_s": time.perf_counter() - started, "cpu_s": child.cpu_seconds,
                         "exit_code": code})
    finally:
        launcher.close()
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
