"""A warm process that forks each scheduled crawl, so that a run does not pay for imports.

A run of `newsarchive crawl` that finds nothing new spends most of its second importing
Scrapy, Twisted, the archive and the site profiles (bench/README.md, "Fifth session").
A scheduler with hundreds of sources would pay that on every slot of every source. So the
scheduler starts this launcher once (`python -m newsarchive.launch FD`). It
imports what a crawl imports, and starts nothing: no reactor, no event loop, no database,
no thread. For each run it forks a child that runs `newsarchive crawl ...` as the command
line would, in a session of its own, with its output on a pipe to the scheduler.

A forked child is as separate as a new process: Twisted's reactor is installed in the
child, never in the launcher, and a crawl that crashes, hangs or leaks takes nothing else
down. Each child starts from the launcher's untouched state, so no run sees another's.

The protocol, on a SOCK_SEQPACKET socket pair: the scheduler sends one message per run,
the JSON of {"args", "cwd", "env"}, with two descriptors: the write end of the run's output
pipe, and a status socket. On the status socket the launcher sends "pid N" once it has
forked the child, then "exit N cpu S" when it has reaped it (N as Popen's returncode:
-signal when killed; S the CPU seconds of the run and of the processes it reaped, which
are not its extraction workers: their forkserver reaps them). If
the launcher dies, the status socket closes without an exit: the child lives on, and when
it is gone the scheduler records the run from the child's own row.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import IO, Any

import sqlite_utils

from archive.runs import now_iso, process_alive

log = logging.getLogger("newsarchive.commands.schedule")

START_TIMEOUT = 120.0  # seconds for the launcher to import everything and fork a first run
_COMPONENT = re.compile(r"[a-z_][\w.]*\.[A-Z]\w*")  # a dotted path to a class


class LauncherUnavailable(RuntimeError):
    """The launcher could not be started or did not answer: run the crawl as a new process."""


class LaunchedChild:
    """A crawl forked by the launcher, with what CrawlChild needs of Popen: the pid, its
    output, whether it is still running, and its exit code once it ended."""

    def __init__(self, status: socket.socket, stdout: IO[bytes]) -> None:
        self.status, self.stdout = status, stdout
        self.returncode: int | None = None
        self.cpu_seconds: float | None = None  # the run's own and what it reaped, once ended
        self.lost = False  # the launcher died first: the exit code is unknown
        status.settimeout(START_TIMEOUT)
        try:
            message = status.recv(64)
        except OSError as exc:
            raise LauncherUnavailable(f"no answer from the launcher: {exc}") from exc
        if not message.startswith(b"pid "):
            raise LauncherUnavailable(f"the launcher did not fork the run ({message!r})")
        self.pid = int(message[4:])
        self.started_at = now_iso()  # just after the fork: a later process with the pid is another

    def running(self) -> bool:
        if self.returncode is None and not self.lost:
            self._receive(blocking=False)
        if self.lost:
            return process_alive(self.pid, self.started_at)
        return self.returncode is None

    def wait(self) -> int | None:
        """The exit code, Popen's way; None if the launcher died before the child."""
        while self.running():
            if not self.lost:
                self._receive(blocking=True)
            else:
                time.sleep(0.1)
        self.status.close()
        return self.returncode

    def _receive(self, *, blocking: bool) -> None:
        self.status.settimeout(None if blocking else 0.0)
        try:
            message = self.status.recv(64)
        except (BlockingIOError, TimeoutError):
            return
        except OSError:
            message = b""
        if message.startswith(b"exit "):
            code, _, cpu = message[5:].partition(b" cpu ")
            self.returncode, self.cpu_seconds = int(code), float(cpu or 0)
        else:
            self.lost = True


class Launcher:
    """The scheduler's handle on its launcher process: started at the first run, and again
    if it has died; closed with the scheduler (the launcher then exits, and crawls it
    forked finish on their own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._failures = 0  # runs in a row it did not fork: at 2, it is not tried again

    def spawn(self, args: list[str], env: dict[str, str]) -> LaunchedChild:
        """Fork `newsarchive ARGS` in the launcher; raises LauncherUnavailable."""
        if self._failures >= 2:
            raise LauncherUnavailable("the crawl launcher failed twice")
        request = json.dumps({"args": args, "cwd": os.getcwd(), "env": env}).encode()
        read_end, write_end = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock:
                self._send(request, [write_end, theirs.fileno()])
        except BaseException as exc:
            os.close(read_end)
            ours.close()
            self._failures += isinstance(exc, LauncherUnavailable)
            raise
        finally:
            os.close(write_end)
            theirs.close()
        stdout = os.fdopen(read_end, "rb")
        try:
            child = LaunchedChild(ours, stdout)
        except LauncherUnavailable:
            stdout.close()
            ours.close()
            self._failures += 1
            raise
        self._failures = 0
        return child

    def _send(self, request: bytes, fds: list[int]) -> None:
        for attempt in (1, 2):  # a launcher that died since the last run is started again
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._control is not None
            try:
                socket.send_fds(self._control, [request], fds)
                return
            except OSError as exc:
                log.warning("the crawl launcher is gone (%s); starting another", exc)
                self._stop()
                if attempt == 2:
                    raise LauncherUnavailable(str(exc)) from exc

    def _start(self) -> None:
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "newsarchive.launch", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        except OSError as exc:
            ours.close()
            raise LauncherUnavailable(f"could not start the crawl launcher: {exc}") from exc
        finally:
            theirs.close()
        self._control = ours
        log.info("crawl launcher started (pid %d): each run is forked from it",
                 self._process.pid)

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()  # the launcher reads the end of its input, and exits
            self._control = None
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            self._process = None

    def close(self) -> None:
        with self._lock:
            self._stop()


# -- the launcher process (its program: newsarchive/launch.py) -------------------------------

class Forked(BaseException):
    """Raised in a newly forked child: unwinds the launcher's loop, then runs the crawl."""

    def __init__(self, request: dict[str, Any], output: int) -> None:
        super().__init__()
        self.request, self.output = request, output


def ready_to_fork(settings: Any) -> None:
    """After the program's own imports: import every component the crawl's Scrapy
    `settings` name (Scrapy would import them when the crawl starts), check that nothing
    was started, and freeze what is loaded out of the collector's reach."""
    for path in _component_paths(settings):
        with contextlib.suppress(Exception):  # an optional one (s3, say) may not import
            importlib.import_module(path.rpartition(".")[0])
    # sqlite-utils looks for its plugins' entry points at its first Database (22 ms).
    sqlite_utils.Database(memory=True).close()
    if "twisted.internet.reactor" in sys.modules:
        raise SystemExit("a reactor was installed while preloading; forking is not safe")
    if threading.active_count() > 1:
        raise SystemExit("a thread was started while preloading; forking is not safe")
    gc.freeze()  # what is loaded now stays shared with the children, copy-on-write


def _component_paths(settings: Any) -> set[str]:
    paths: set[str] = set()
    for name, attribute in settings.attributes.items():
        if name == "TWISTED_REACTOR":  # installed by the crawl, in the child
            continue
        value = attribute.value
        values = list(value.attributes) + [a.value for a in value.attributes.values()] \
            if hasattr(value, "attributes") else [value]
        paths.update(v for v in values if isinstance(v, str) and _COMPONENT.fullmatch(v))
    return paths


def serve(control: socket.socket) -> None:
    """Fork a child for each request until the scheduler closes its end."""
    children: dict[int, socket.socket] = {}  # pid -> its status socket
    with selectors.DefaultSelector() as selector:
        selector.register(control, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select(timeout=1.0):
                if key.fileobj is control:
                    message, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
                    if not message:
                        return
                    _fork(json.loads(message), fds, children, selector, control)
            _reap(children, selector)


def _fork(request: dict[str, Any], fds: list[int], children: dict[int, socket.socket],
          selector: selectors.BaseSelector, control: socket.socket) -> None:
    output, status_fd = fds
    status = socket.socket(fileno=status_fd)
    ready, in_session = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready)
        os.setsid()  # before the scheduler hears of the pid: it signals the whole group
        os.close(in_session)
        status.close()  # the launcher reports the child's end, not the child
        control.close()
        for other in children.values():
            other.close()
        for key in selector.get_map().values():
            if key.data is not None:  # another child's pidfd
                os.close(key.fd)
        raise Forked(request, output)
    os.close(output)
    os.close(in_session)
    os.read(ready, 1)  # end of file once the child has its session (or has died)
    os.close(ready)
    children[pid] = status
    try:
        status.send(b"pid %d" % pid)
    except OSError:  # the scheduler gave up waiting, and starts the run another way
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError, AttributeError):  # pidfd: Linux 5.3 and later
        selector.register(os.pidfd_open(pid), selectors.EVENT_READ, pid)


def _reap(children: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    while children:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        for key in list(selector.get_map().values()):
            if key.data == pid:
                selector.unregister(key.fileobj)
                os.close(key.fd)
        reporter = children.pop(pid, None)
        if reporter is not None:
            with contextlib.suppress(OSError):
                reporter.send(b"exit %d cpu %.3f" % (os.waitstatus_to_exitcode(status),
                                                     usage.ru_utime + usage.ru_stime))
            reporter.close()


def become_child(forked: Forked) -> None:
    """In the forked child, in a session of its own: take the run's output, signals,
    directory, environment and command line (sys.argv), for the CLI to run."""
    os.dup2(forked.output, 1)
    os.dup2(forked.output, 2)
    os.close(forked.output)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    request = forked.request
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["newsarchive", *request["args"]]
