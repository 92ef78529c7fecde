"""Site profiles: which profile handles a page.

Adding a site = one small module defining a `SiteProfile` (see `base.py` and
`netease.py`) + one line in `_ALL` below + its fixtures.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pipelines.sites import ifeng, netease, people, sina, sohu, tencent, thepaper, wechat, xinhua
from pipelines.sites.base import SiteProfile, Template
from pipelines.sites.mirror import site_url

_ALL: tuple[SiteProfile, ...] = (
    netease.PROFILE,
    sina.PROFILE,
    wechat.PROFILE,
    tencent.PROFILE,
    sohu.PROFILE,
    ifeng.PROFILE,
    people.PROFILE,
    xinhua.PROFILE,
    thepaper.PROFILE,
)

PROFILES: dict[str, SiteProfile] = {p.name: p for p in _ALL}

__all__ = ["PROFILES", "SiteProfile", "Template", "profile_for"]


def profile_for(url: str, name: str | None = None) -> SiteProfile | None:
    """The profile for a page: the one named, else the one serving the URL's host.

    An explicit name wins, so a seed can point a profile at a host it does not list
    (a mirror, or the 127.0.0.1 sample site). An unknown name raises KeyError: that is
    a configuration error, not a page to extract generically. "generic" means no profile.
    """
    if name == "generic":  # asked for plain trafilatura whatever the host
        return None
    if name:
        return PROFILES[name]
    try:
        host = urlsplit(site_url(url)).hostname or ""  # a mirror: the host it mirrors
    except ValueError:  # malformed URL (e.g. a bad IPv6 literal)
        return None
    return next((p for p in _ALL if host and p.serves(host)), None)
