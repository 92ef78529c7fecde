"""The scheduler service behind `newsarchive schedule`: every source on its own timetable.

One APScheduler job per source (its seeds `schedule`), kept in a SQLite job store so a
restart keeps each job's next run time. Each run is a supervised child process
(newsarchive/schedule/supervise.py). The rules, and where APScheduler enforces them:

- runs missed while the scheduler was down are made up once (coalesce=True), if the
  latest was due less than `misfire_grace` ago;
- a source never runs twice at once (max_instances=1); a slot that comes while its run
  is still going is owed and run as soon as that run ends (`_on_skipped`/`_on_done`),
  so a slow run delays the next one instead of overlapping it or silently dropping it;
- seeds are re-read when they change on disk (checked every `check_seeds` seconds, or at
  once on SIGHUP); a broken file keeps the previous schedule, and children crawl from a
  snapshot of the last good seeds, so a half-edited file breaks no run either;
- SIGINT/SIGTERM: no new runs; running crawls get SIGINT and `grace` seconds to finish
  their in-flight pages, then SIGKILL; every run is recorded; exit 0.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    JobEvent,
)
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger

from crawler.seeds import SeedsError, Source, load_seeds, parse_schedule
from newsarchive.schedule.launcher import Launcher
from newsarchive.schedule.schedlock import single_instance
from newsarchive.schedule.supervise import CrawlChild, Limits, Outcome, format_seconds

log = logging.getLogger("newsarchive.commands.schedule")

JOB_FUNC = "newsarchive.schedule.scheduler:scheduled_run"  # stored by reference in the job store
TIMEZONE = "Asia/Shanghai"  # the zone parse_schedule() reads cron strings in


@dataclass(frozen=True)
class Settings:
    db: Path
    seeds_dir: Path
    jobs_db: Path
    timeout: float = 3600.0
    max_memory_mb: int | None = 2048
    grace: float = 30.0
    misfire_grace: float = 86400.0
    workers: int = 1
    check_seeds: float = 10.0
    deliver_every: float = 60.0  # seconds between the watchlists' delivery ticks
    overrides: tuple[str, ...] = ()
    redis_url: str | None = None  # queue each slot's run on this cluster (docs/cluster.md)


def default_jobs_db(db: Path) -> Path:
    """The job store beside the archive: archive.db -> archive.jobs.db."""
    return db.with_name(f"{db.stem}.jobs.db" if db.suffix else f"{db.name}.jobs.db")


class _Scheduler(BackgroundScheduler):
    def _process_jobs(self) -> float | None:
        # APScheduler 3.11's loop looks for due jobs once more after shutdown(): a slot
        # due then (as slots are while stopping) would go to a closed pool and be marked
        # done, so the next start would not make it up. Leave it in the store instead.
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


_service: SchedulerService | None = None


def scheduled_run(source: str, schedule: str | None = None) -> None:
    """The job function, stored by reference; APScheduler calls it in a worker thread."""
    if _service is None:
        log.error("%s: due, but no scheduler service is running in this process", source)
        return
    try:
        _service.run_source(source)
    except Exception:  # a bug here must not stop the other sources' runs
        log.exception("%s: the scheduler could not run or record this crawl", source)


class SchedulerService:
    def __init__(self, settings: Settings) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        self.settings = settings
        self.sources: dict[str, Source] = {}
        self.children: dict[str, CrawlChild] = {}
        self.launcher = Launcher()  # forks each run with the crawl's imports loaded
        self.owed: set[str] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.reload_requested = False
        self.fingerprint: tuple[Any, ...] | None = None
        self.snapshot: Path | None = None
        self.last_delivery = float("-inf")  # monotonic time of the last watch delivery tick
        self.job_defaults = {"coalesce": True, "max_instances": 1,
                             "misfire_grace_time": int(settings.misfire_grace)}
        self.scheduler = _Scheduler(
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{settings.jobs_db}")},
            executors={"default": ThreadPoolExecutor(settings.workers)},
            job_defaults=self.job_defaults, timezone=TIMEZONE)
        self.scheduler.add_listener(self._on_skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._on_done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    # -- the foreground loop -------------------------------------------------------------

    def serve(self) -> None:
        """Run until SIGINT/SIGTERM. Raises SeedsError if the seeds are broken at start."""
        global _service
        sources = load_seeds(self.settings.seeds_dir)
        self.fingerprint = seeds_fingerprint(self.settings.seeds_dir)
        with single_instance(self.settings.jobs_db), \
                tempfile.TemporaryDirectory(prefix="newsarchive-seeds-") as snapshots:
            self.snapshot_root = Path(snapshots)
            self._take_snapshot()
            _service = self
            self._install_signals()
            # Paused first: the stored jobs are visible, and brought in line with the
            # seeds, before anything due fires.
            self.scheduler.start(paused=True)
            try:
                stored = {job.id: job.kwargs.get("schedule") for job in self.scheduler.get_jobs()}
                changes = self._apply(sources)
                if changes:
                    log.info("jobs: %s", "; ".join(changes))
                self._report_missed(stored)
                log.info("scheduler started: %d scheduled source(s) from %s into %s "
                         "(jobs in %s); SIGINT or SIGTERM stops it, SIGHUP re-reads the seeds",
                         len(self.scheduler.get_jobs()), self.settings.seeds_dir,
                         self.settings.db, self.settings.jobs_db)
                self.scheduler.resume()
                while not self.stopping.is_set():
                    self.wake.wait(self.settings.check_seeds)
                    self.wake.clear()
                    if not self.stopping.is_set():
                        forced, self.reload_requested = self.reload_requested, False
                        self.reload(forced=forced)
                        self._deliver_watches()
            finally:
                self._shutdown()
                _service = None

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            name = signal.Signals(signum).name
            if self.stopping.is_set():
                log.warning("%s again: killing the running crawls now", name)
                for child in self._running():
                    child.stop(force=True)
                return
            with self.lock:
                self.stopping.set()
                children = list(self.children.values())
            log.info("%s: taking no new runs; %s", name,
                     f"giving {', '.join(c.source for c in children)} up to "
                     f"{format_seconds(self.settings.grace)} to finish in-flight pages"
                     if children else "no crawl is running")
            for child in children:
                child.stop()
            self.wake.set()

        def hup(_signum: int, _frame: Any) -> None:
            self.reload_requested = True
            self.wake.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, hup)

    def _running(self) -> list[CrawlChild]:
        with self.lock:
            return list(self.children.values())

    def _shutdown(self) -> None:
        self.stopping.set()
        with contextlib.suppress(Exception):
            self.scheduler.pause()
        for child in self._running():
            child.stop()
        while self._running():
            self.wake.wait(0.2)  # signal handlers run meanwhile (a second one kills)
            self.wake.clear()
        self.scheduler.shutdown(wait=True)
        self.launcher.close()
        log.info("scheduler stopped")

    def _deliver_watches(self) -> None:
        """A tick of the watchlists: what is owed and due (a digest period that ended, a
        retry whose backoff passed) is sent even when no crawl runs. Crawls deliver too,
        as they end; claims in the archive keep them from sending anything twice."""
        now = time.monotonic()
        if now - self.last_delivery < self.settings.deliver_every:
            return
        self.last_delivery = now
        from newsarchive.watch.delivery import deliver_from_seeds

        try:
            for line in deliver_from_seeds(self.settings.db, self.snapshot):
                log.info("%s", line)
        except Exception:  # the next tick tries again; the outbox keeps what is owed
            log.exception("watch deliveries failed")

    # -- seeds ---------------------------------------------------------------------------

    def reload(self, forced: bool = False) -> None:
        """Re-read the seeds if they changed (or when forced); keep the old ones if broken."""
        fingerprint = seeds_fingerprint(self.settings.seeds_dir)
        if fingerprint == self.fingerprint and not forced:
            return
        newest = max((mtime for _, mtime, _ in fingerprint), default=0)
        if not forced and time.time_ns() - newest < 1_000_000_000:
            return  # a file written this very second may be half-written: next check
        self.fingerprint = fingerprint
        try:
            sources = load_seeds(self.settings.seeds_dir)
        except SeedsError as exc:
            log.error("seeds not reloaded, keeping the previous schedule: %s", exc)
            return
        self._take_snapshot()
        changes = self._apply(sources)
        log.info("seeds reloaded from %s: %s", self.settings.seeds_dir,
                 "; ".join(changes) if changes else "no schedule changes")

    def _take_snapshot(self) -> None:
        # A new directory per version: a child already running keeps reading its own.
        target = Path(tempfile.mkdtemp(prefix="v", dir=self.snapshot_root))
        for path in sorted(self.settings.seeds_dir.glob("*.toml")):
            shutil.copy2(path, target / path.name)
        self.snapshot = target

    def _apply(self, sources: list[Source]) -> list[str]:
        """Bring the stored jobs in line with the sources; jobs whose schedule did not
        change keep their stored next run time (that is what survives a restart)."""
        self.sources = {s.name: s for s in sources}
        wanted = {s.name: s for s in sources if s.schedule}
        jobs = {job.id: job for job in self.scheduler.get_jobs()}
        changes = []
        for name in sorted(set(jobs) - set(wanted)):
            self.scheduler.remove_job(name)
            changes.append(f"removed {name}")
        for name, source in wanted.items():
            assert source.schedule is not None
            job = jobs.get(name)
            trigger = parse_schedule(source.schedule)
            if job is None:
                extra: dict[str, Any] = {}
                if isinstance(trigger, IntervalTrigger):
                    # An interval has no phase of its own: a new source runs now, then
                    # every interval; a cron source waits for its first slot.
                    extra["next_run_time"] = datetime.now(trigger.timezone)
                self.scheduler.add_job(JOB_FUNC, trigger, args=[name], id=name, name=name,
                                       kwargs={"schedule": source.schedule}, **extra)
                changes.append(f"added {name} ({source.schedule})")
            elif job.kwargs.get("schedule") != source.schedule:
                old = job.kwargs.get("schedule")
                self.scheduler.modify_job(name, kwargs={"schedule": source.schedule},
                                          **self.job_defaults)
                self.scheduler.reschedule_job(name, trigger=trigger)
                changes.append(f"rescheduled {name} ({old} -> {source.schedule})")
            elif any(getattr(job, k) != v for k, v in self.job_defaults.items()):
                self.scheduler.modify_job(name, **self.job_defaults)  # e.g. --misfire-grace
        for name in sorted(set(self.sources) - set(wanted)):
            log.info("%s has no schedule in the seeds: not scheduled", name)
        now = datetime.now(self.scheduler.timezone)
        for name in sorted(wanted):
            job = self.scheduler.get_job(name)
            if job is not None and job.next_run_time is not None and job.next_run_time > now:
                log.info("%s (%s): next run %s", name, wanted[name].schedule,
                         describe_time(job.next_run_time))
        return changes

    def _report_missed(self, stored: dict[str, str | None]) -> None:
        """Say which stored jobs fell due while the scheduler was down (new and
        rescheduled jobs have nothing to make up)."""
        now = datetime.now(self.scheduler.timezone)
        for job in self.scheduler.get_jobs():
            if job.id not in stored or stored[job.id] != job.kwargs.get("schedule"):
                continue
            if job.next_run_time is None or job.next_run_time > now:
                continue
            times = missed_run_times(job.trigger, job.next_run_time, now)
            if now - times[-1] <= timedelta(seconds=self.settings.misfire_grace):
                log.info("%s: missed %d run(s) while the scheduler was down, the first due "
                         "%s; running it once now", job.id, len(times), describe_time(times[0]))
            else:
                log.info("%s: missed %d run(s) while the scheduler was down, the last more "
                         "than %s ago (--misfire-grace): skipped; next run %s", job.id,
                         len(times), format_seconds(self.settings.misfire_grace),
                         describe_time(job.trigger.get_next_fire_time(times[-1], now)))

    # -- runs ----------------------------------------------------------------------------

    def limits_for(self, source: Source) -> Limits:
        timeout = source.timeout.total_seconds() if source.timeout else self.settings.timeout
        memory = source.max_memory_mb or self.settings.max_memory_mb
        return Limits(timeout=timeout, max_memory_mb=memory or None, grace=self.settings.grace)

    def run_source(self, name: str) -> Outcome | None:
        source = self.sources.get(name)
        if source is None:
            log.warning("%s: due, but no longer in the seeds; skipped", name)
            return None
        if self.settings.redis_url:
            self._queue_on_cluster(source)
            return None
        assert self.snapshot is not None
        child = CrawlChild(name, self.settings.db.resolve(), self.snapshot,
                           self.limits_for(source), self.settings.overrides, self.launcher)
        with self.lock:
            if self.stopping.is_set():
                return None  # due just as the scheduler is stopping: no new runs
            self.children[name] = child
        try:
            outcome = child.run()
        finally:
            with self.lock:
                self.children.pop(name, None)
        self._log_outcome(outcome)
        return outcome

    def _queue_on_cluster(self, source: Source) -> None:
        """The slot's run queued on the cluster's Redis, unless another scheduler did:
        the workers crawl it, the writer stores it."""
        from newsarchive.cluster.runs import connect
        from newsarchive.cluster.slots import queue_slot

        assert self.settings.redis_url is not None
        server = connect(self.settings.redis_url)
        try:
            queue_slot(server, source, db=self.settings.db)
        finally:
            server.close()

    def _log_outcome(self, outcome: Outcome) -> None:
        run = outcome.run or {}
        status = run.get("status") or "failed"
        summary = (f"{outcome.source}: {status} in {format_seconds(outcome.seconds)} "
                   f"(run {run.get('id', '?')}): {run.get('pages_fetched') or 0} pages, "
                   f"{run.get('articles_new') or 0} new, {run.get('duplicates') or 0} "
                   f"duplicates, {run.get('failures') or 0} failures")
        if status == "ok":
            log.info(summary)
        else:
            log.warning("%s; %s", summary, run.get("finish_reason") or "no reason recorded")

    def _on_skipped(self, event: JobEvent) -> None:
        if self.stopping.is_set():
            return
        with self.lock:
            first = event.job_id not in self.owed
            self.owed.add(event.job_id)
        if first:
            log.info("%s: still running at its next slot; that run starts when this one "
                     "ends", event.job_id)

    def _on_done(self, event: JobEvent) -> None:
        # Called once the job's instance is released, so it may be submitted again.
        with self.lock:
            owed = event.job_id in self.owed
            self.owed.discard(event.job_id)
        if owed and not self.stopping.is_set():
            with contextlib.suppress(Exception):  # removed from the seeds meanwhile
                self.scheduler.modify_job(event.job_id,
                                          next_run_time=datetime.now(self.scheduler.timezone))


def missed_run_times(trigger: Any, first: datetime, now: datetime,
                     limit: int = 10_000) -> list[datetime]:
    """The fire times from `first` up to `now` (at least `first`)."""
    times = [first]
    while len(times) < limit:
        following = trigger.get_next_fire_time(times[-1], now)
        if following is None or following > now:
            break
        times.append(following)
    return times


def describe_time(when: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(when.tzinfo)
    delta = (when - now).total_seconds()
    stamp = when.isoformat(sep=" ", timespec="seconds")
    if abs(delta) < 1:
        return f"{stamp} (now)"
    if delta > 0:
        return f"{stamp} (in {format_seconds(delta)})"
    return f"{stamp} ({format_seconds(-delta)} ago)"


def seeds_fingerprint(seeds_dir: Path) -> tuple[Any, ...]:
    entries = []
    for path in sorted(seeds_dir.glob("*.toml")):
        with contextlib.suppress(OSError):
            stat = path.stat()
            entries.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(entries)
