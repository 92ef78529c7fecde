"""Watch delivery with Apprise to real receivers on 127.0.0.1: an SMTP server (aiosmtpd)
and an HTTP server taking json:// webhooks, that fails or hangs on purpose; real crawls
of the sample site, one of them SIGKILLed between its commit and its delivery."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import feedparser
from browse_data import build_archive
from watch_receivers import Hooks, json_receiver, smtp_server

from archive import open_archive
from archive.watches import watch_matches
from conftest import run_cli
from crawler.seeds import load_watches
from crawler.watchseeds import Watch
from newsarchive.demo.demo import DEMO_SETTINGS, write_sample_seeds
from newsarchive.watch.delivery import deliver, sync_from_seeds

WUZHEN_TITLES = {  # the sample site's articles holding 乌镇 (written 烏鎮 in the watch)
    "十年蝶变,桐乡以智能网联汽车为引擎打造“国际互联网小镇”样板",
    "桐乡以智能网联汽车为引擎打造“国际互联网小镇”样板",
    "乌镇峰会分论坛聚焦人工智能赋能乡村振兴",
}
WINTER_TITLES = {"北方地区陆续进入供暖季 多地提前启动供热保障群众温暖过冬",
                 "多地启动冬季流感疫苗接种 专家建议重点人群尽早接种"}
CRAWL_SETTINGS = [arg for key, value in DEMO_SETTINGS.items()
                  for arg in ("-s", f"{key}={value}")]


def sample_seeds(tmp_path: Path, base_url: str, mail_url: str, hook_url: str) -> Path:
    seeds = write_sample_seeds(base_url, tmp_path / "seeds")
    with (seeds / "sample.toml").open("a", encoding="utf-8") as out:
        out.write(f"""
[[watch]]
name = "wuzhen"
query = "烏鎮"
notify = ["{mail_url}"]

[[watch]]
name = "winter"
query = '供暖 OR 流感 -江豚'
sources = ["demo-netease", "demo-sina"]
notify = ["{hook_url}"]
""")
    return seeds


def crawl(seeds: Path, db: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("crawl", "--db", str(db), "--seeds", str(seeds), *CRAWL_SETTINGS)


def listed_titles(body: str, titles: set[str]) -> list[str]:
    """The titles of `titles` a message lists, in order, each as often as it appears."""
    return [t for t in re.findall(r"\[([^\]]+)\]\(", body) if t in titles] or \
        [t for t in titles if t in body]


def test_a_crawl_with_two_watches_sends_each_message_once(tmp_path: Path, sample_site) -> None:
    db = tmp_path / "archive.db"
    with smtp_server() as (mail_url, mailbox), json_receiver() as (hook_url, hooks):
        seeds = sample_seeds(tmp_path, sample_site.base_url, mail_url, hook_url)
        first = crawl(seeds, db)
        assert first.returncode == 0, first.stderr
        assert "watch wuzhen: 3 matches sent to mailto://127.0.0.1" in first.stderr
        assert "watch winter: 2 matches sent to json://127.0.0.1" in first.stderr
        (mail,) = mailbox.texts()
        assert mail.startswith("newsarchive watch wuzhen: 3 new")
        assert all(title in mail for title in WUZHEN_TITLES)
        (hook,) = hooks.bodies()  # json:// escapes non-ASCII: compared decoded
        assert hook.startswith("newsarchive watch winter: 2 new")
        assert sorted(listed_titles(hook, WINTER_TITLES)) == sorted(WINTER_TITLES)
        assert "**供暖**" in hook and "**流感" in hook  # the matched words marked
        assert "长江禁渔五年" not in hook  # the article holding the excluded word
        second = crawl(seeds, db)
        assert second.returncode == 0, second.stderr
        assert "watch " not in second.stderr
        assert len(mailbox.messages) == 1 and len(hooks.accepted) == 1  # nothing twice
    feed = run_cli("feed", "wuzhen", "--db", str(db))
    parsed = feedparser.parse(feed.stdout.encode())
    assert not parsed.bozo and parsed.version == "atom10"
    assert {entry.title for entry in parsed.entries} == WUZHEN_TITLES
    published = [entry.updated for entry in parsed.entries]
    assert published == sorted(published, reverse=True)  # newest first
    search = run_cli("search", "烏鎮", "--db", str(db))
    assert "十年蝶变,桐乡以智能网联汽车为引擎打造“国际互联网小镇”样板" in search.stdout


def matched_archive(tmp_path: Path, watch: Watch) -> Path:
    path = tmp_path / "archive.db"
    db = open_archive(path)
    sync_from_seeds(db, [watch])
    db.close()
    build_archive(path)  # the reference and the marathon hold 桐乡
    return path


def test_a_failing_receiver_gets_each_match_once_after_retries(tmp_path: Path) -> None:
    with json_receiver(Hooks(fail_first=2)) as (url, hooks):
        watch = Watch("tongxiang", "桐乡", notify=(url,))
        db = open_archive(matched_archive(tmp_path, watch))
        (failed,) = deliver(db, [watch])
        assert failed.matches == 2 and "500" in failed.error
        assert deliver(db, [watch]) == []  # backing off: not yet
        (error, attempts, retry) = db.execute(
            "select last_error, attempts, next_attempt_at > at from watch_outbox o "
            "join watch_deliveries d on d.watch = o.watch order by d.id desc").fetchone()
        assert "500" in error and attempts == 1 and retry == 1
        (again,) = deliver(db, [watch], force=True)  # `watch send`: at once
        assert not again.ok and hooks.refused == 2
        (sent,) = deliver(db, [watch], force=True)
        assert sent.ok and sent.matches == 2
        assert deliver(db, [watch], force=True) == []  # nothing owed any more
        (body,) = hooks.bodies()
        assert "桐乡马拉松鸣枪开跑" in body and "十年蝶变" in body
        assert [row["sent"] for row in watch_matches(db, "tongxiang")] == [1, 1]
        recorded = db.execute("select status, matches from watch_deliveries "
                              "order by id").fetchall()
        assert recorded == [("failed", 2), ("failed", 2), ("sent", 2)]


def test_send_command_retries_now(tmp_path: Path) -> None:
    with json_receiver(Hooks(fail_first=1)) as (url, hooks):
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "w.toml").write_text(f'[[watch]]\nname = "tx"\nquery = "桐乡"\n'
                                      f'notify = ["{url}"]\n', "utf-8")
        path = matched_archive(tmp_path, load_watches(seeds)[0])
        args = ["watch", "send", "tx", "--db", str(path), "--seeds", str(seeds)]
        failed = run_cli(*args)
        assert failed.returncode == 1 and "FAILED" in failed.stdout
        listed = run_cli("watch", "list", "--db", str(path), "--seeds", str(seeds))
        assert "owed 2" in listed.stdout and "failed attempts 1 (last: " in listed.stdout
        sent = run_cli(*args)
        assert sent.returncode == 0 and "tx -> json://127.0.0.1" in sent.stdout
        assert len(hooks.accepted) == 1


def test_two_senders_never_send_the_same_rows(tmp_path: Path) -> None:
    from archive.watches import claim, owed

    watch = Watch("tongxiang", "桐乡", notify=("json://127.0.0.1:9/in",))
    db = open_archive(matched_archive(tmp_path, watch))
    other = open_archive(tmp_path / "archive.db")
    target = next(iter(watch.targets()))
    rows = owed(db, "tongxiang", target)
    assert len(claim(db, rows)) == 2
    assert claim(other, rows) == []  # read before the claim: refused
    assert owed(other, "tongxiang", target) == []  # its process lives: not abandoned


def test_a_crawl_killed_between_commit_and_delivery(tmp_path: Path, sample_site) -> None:
    db = tmp_path / "archive.db"
    with smtp_server() as (mail_url, mailbox), \
            json_receiver(Hooks(hang=True)) as (hook_url, hooks):
        seeds = sample_seeds(tmp_path, sample_site.base_url, mail_url, hook_url)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = subprocess.Popen(
            [sys.executable, "-m", "newsarchive", "crawl", "--db", str(db), "--seeds",
             str(seeds), *CRAWL_SETTINGS], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert hooks.arrived.wait(240), "the crawl never delivered"
        finally:
            # The webhook is held: delivery unfinished. The whole process group, as
            # systemd or an OOM kill would: the crawl and its extraction processes.
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        matches = open_archive(db).execute(
            "select count(*), sum(o.status != 'sent') from watch_outbox o "
            "join matches m on m.id = o.match_id where m.watch = 'winter'").fetchone()
        assert matches == (2, 2)  # committed, matched, owed
        assert hooks.accepted == []
        hooks.hang = False
        hooks.release.set()
        mails_before = len(mailbox.messages)
        again = crawl(seeds, db)
        assert again.returncode == 0, again.stderr
        assert "watch winter: 2 matches sent" in again.stderr
        (hook,) = hooks.bodies()  # what was owed, once
        assert sorted(listed_titles(hook, WINTER_TITLES)) == sorted(WINTER_TITLES)
        assert len(mailbox.messages) == mails_before == 1  # the e-mail: sent once in all


def test_the_scheduler_tick_delivers_without_a_crawl(tmp_path: Path) -> None:
    from newsarchive.schedule.scheduler import SchedulerService, Settings

    with json_receiver() as (url, hooks):
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "w.toml").write_text(f'[[watch]]\nname = "tx"\nquery = "桐乡"\n'
                                      f'notify = ["{url}"]\n', "utf-8")
        path = matched_archive(tmp_path, load_watches(seeds)[0])
        service = SchedulerService(Settings(db=path, seeds_dir=seeds,
                                            jobs_db=tmp_path / "jobs.db"))
        service.snapshot = seeds  # the last good seeds, as serve() keeps them
        service._deliver_watches()
        assert len(hooks.accepted) == 1 and "桐乡马拉松" in hooks.bodies()[0]
        service._deliver_watches()  # within the minute: no second tick
        service.last_delivery = float("-inf")
        service._deliver_watches()  # a tick: nothing owed any more
        assert len(hooks.accepted) == 1
