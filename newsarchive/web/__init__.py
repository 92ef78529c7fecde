"""Reading the archive in a browser: the datasette plugin of the reader, home, search and
trends pages (registered as the `newsarchive_web` datasette entry point).

* hooks.py: the datasette hooks and routes;
* reader.py: an article as the reader shows it (versions with diffs, copies, URLs, pages);
* home.py: the home page and the search results page;
* trends.py: the trends page's Vega-Lite charts;
* access.py: who may see an archive served beyond localhost (`newsarchive serve`);
* templates/ and static/: the pages, and the files they load (Vega-Lite vendored in
  static/vendor/, never fetched from a CDN).
"""

from newsarchive.web.hooks import (
    extra_css_urls,
    extra_template_vars,
    menu_links,
    register_routes,
)

__all__ = ["extra_css_urls", "extra_template_vars", "menu_links", "register_routes"]
