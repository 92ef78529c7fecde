"""A generated site of many distinct NetEase articles, for the crash and concurrency tests.

Pages are made from the 网易号 fixture template (tests/fixtures/netease/
dy-post2020-reference) with distinct DOCIDs, titles and paragraphs, and listed in a
sitemap; the sample-site server serves the tree. `start_crawl` runs the real
`newsarchive crawl` on it in its own process group.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES
from newsarchive.demo.samplesite import SampleSite

TEMPLATE = FIXTURES / "netease" / "dy-post2020-reference"
TEMPLATE_DOCID = "KEK0A3PK0527D7QO"
TEMPLATE_TITLE = "十年蝶变,桐乡以智能网联汽车为引擎打造“国际互联网小镇”样板"
# Common characters to write the generated paragraphs with.
HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年"
         "动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化"
         "高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天"
         "政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向"
         "道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革")


BODY_PARAGRAPH = re.compile(r'(<p id="[0-9A-Z]+">).*?</p>')


def canonical(number: int) -> str:
    return f"https://www.163.com/dy/article/{docid(number)}.html"


def docid(number: int) -> str:
    return f"CRASH{number:04d}".ljust(16, "X")


def paragraph(rng: random.Random) -> str:
    return "".join(rng.choice(HANZI) for _ in range(rng.randint(40, 90))) + "。"


def generate_site(root: Path, pages: int) -> list[str]:
    """Write `pages` article fixtures and a sitemap under `root`; their paths."""
    template = (TEMPLATE / "page.html").read_text("utf-8")
    paths = []
    for number in range(pages):
        rng = random.Random(number)
        title = f"第{number}号稿件：" + "".join(rng.choice(HANZI) for _ in range(16))
        html = template.replace(TEMPLATE_DOCID, docid(number)).replace(TEMPLATE_TITLE, title)
        # Each body paragraph (<p id="...">text</p>) gets new text of its own.
        html = BODY_PARAGRAPH.sub(lambda m, rng=rng: m.group(1) + paragraph(rng) + "</p>", html)
        path = f"/www.163.com/dy/article/{docid(number)}.html"
        directory = root / "crash" / f"{number:04d}"
        directory.mkdir(parents=True)
        (directory / "page.html").write_text(html, "utf-8")
        (directory / "response.json").write_text(json.dumps(
            {"path": path, "headers": {"Content-Type": "text/html; charset=utf-8"}}), "utf-8")
        paths.append(path)
    locs = "".join(f"<url><loc>{{base}}{path}</loc></url>" for path in paths)
    sitemap = root / "site" / "sitemap"
    sitemap.mkdir(parents=True)
    (sitemap / "page.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>', "utf-8")
    (sitemap / "response.json").write_text(json.dumps(
        {"path": "/sitemap.xml", "template": True,
         "headers": {"Content-Type": "application/xml"}}), "utf-8")
    return paths


def write_seeds(site: SampleSite, seeds: Path, extra: str = "") -> Path:
    seeds.mkdir(exist_ok=True)
    (seeds / "crash.toml").write_text(f"""
[[source]]
name = "crash"
sitemaps = ["{site.base_url}/sitemap.xml"]
allow = ['/www\\.163\\.com/dy/article/[0-9A-Z]{{16}}\\.html$']
profile = "netease"
{extra}
""", "utf-8")
    return seeds


def start_crawl(db: Path, seeds: Path, *settings: str) -> subprocess.Popen[bytes]:
    """`newsarchive crawl` in a new process group, so one SIGKILL reaches the extraction
    workers too (as the OOM killer or a `kill -9 -PGID` would)."""
    command = [sys.executable, "-m", "newsarchive", "crawl", "--db", str(db),
               "--seeds", str(seeds), "-s", "AUTOTHROTTLE_ENABLED=False",
               "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
               *(arg for setting in settings for arg in ("-s", setting))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
