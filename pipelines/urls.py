"""URL identity before a page is fetched: which article a URL names."""

from __future__ import annotations

from w3lib.url import url_query_cleaner

from pipelines.sites import profile_for
from pipelines.sites.base import normalise_url

# Share and tracking parameters Chinese portals and apps append (courlan already drops
# utm_* and the like): they never change which article a URL names.
TRACKING_PARAMS = ("spm", "from", "isappinstalled", "share_token", "scene", "clicktime",
                   "enterid", "sharer_shareid", "sharer_sharetime", "referer", "share")


def clean_url(url: str) -> str:
    """Scheme and host lower-cased, default port, fragment and tracking parameters gone."""
    return url_query_cleaner(normalise_url(url), TRACKING_PARAMS, remove=True)


def canonical_url_for(url: str, profile: str | None = None) -> str:
    """The canonical URL the site's rules give this URL (a NetEase DOCID gives one URL
    across www, m, 3g and every older form), or the cleaned URL for sites without rules."""
    site = profile_for(url, profile)
    return site.canonical_url(url) if site is not None else clean_url(url)
