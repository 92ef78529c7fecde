"""What the extraction pool's forkserver loads before it forks a worker (crawler/pool.py).

Everything a worker needs: crawler.work (trafilatura, lxml, numpy, rensa's MinHash,
the site profiles) and jieba's dictionary (~70 MB of small Python objects). The workers
forked from it share these pages copy-on-write instead of each loading its own copy.
gc.freeze() moves what is loaded so far out of the collector's reach: a collection in a
worker would otherwise write to every object's header and so copy every page.
"""

from __future__ import annotations

import gc

from crawler import work

work.warm_up()
gc.freeze()
