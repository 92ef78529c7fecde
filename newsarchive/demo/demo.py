"""The demo: crawl the bundled sample site on 127.0.0.1 with the real pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsarchive.demo.samplesite import fixtures_dir

# Politeness is for other people's servers; the sample site is our own, on loopback.
DEMO_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "RETRY_TIMES": 1,
}


def write_sample_seeds(base_url: str, seeds_dir: Path) -> Path:
    """Write the sample site's seeds, pointed at `base_url`, into `seeds_dir`."""
    template = (fixtures_dir() / "sample-seeds.toml").read_text("utf-8")
    seeds_dir.mkdir(parents=True, exist_ok=True)
    target = seeds_dir / "sample.toml"
    target.write_text(template.replace("{base}", base_url), "utf-8")
    return seeds_dir
