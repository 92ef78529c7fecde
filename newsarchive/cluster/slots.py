"""`newsarchive schedule --redis`: schedulers on several machines, one run a slot.

Each scheduler fires its sources at their slots as usual; instead of crawling, it takes
the slot's lock in Redis (SET NX) and, if it got it, queues the run on the cluster. The
others find the lock taken and do nothing. A slot is named so that every scheduler
names it alike: an interval schedule's slots are counted from the epoch (so two
schedulers started at different times still agree), a cron schedule's slot is its last
fire time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from apscheduler.triggers.interval import IntervalTrigger

from crawler.cluster.keys import Keys
from crawler.seeds import Source, parse_schedule
from newsarchive.cluster.runs import start_run

log = logging.getLogger(__name__)
SLOT_LOCK_TTL = 7 * 24 * 3600  # longer than any slot is made up for (misfire grace)


def slot_of(trigger: Any, now: datetime) -> str:
    """The name of the slot `now` falls in."""
    if isinstance(trigger, IntervalTrigger):
        return f"i{int(now.timestamp() // trigger.interval.total_seconds())}"
    for lookback in (timedelta(hours=1), timedelta(days=32)):
        fire = trigger.get_next_fire_time(None, now - lookback)
        last = None
        while fire is not None and fire <= now:
            last = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if last is not None:
            return f"c{int(last.timestamp())}"
    return f"c{int(now.timestamp())}"


def queue_slot(server: redis.Redis, source: Source, *, keys: Keys | None = None,
               db: Path | None = None, now: datetime | None = None) -> str | None:
    """Queue the source's run for the slot `now` is in, unless another scheduler did;
    the run's id, or None."""
    keys = keys or Keys()
    trigger = parse_schedule(source.schedule or "every 1h")
    now = now or datetime.now(trigger.timezone)
    slot = slot_of(trigger, now)
    if not server.set(keys.slot_lock(source.name, slot), now.isoformat(), nx=True,
                      ex=SLOT_LOCK_TTL):
        log.info("%s: slot %s queued by another scheduler", source.name, slot)
        return None
    run = start_run(server, source, keys=keys, db=db)
    log.info("%s: queued run %s on the cluster (slot %s)", source.name, run, slot)
    return run
