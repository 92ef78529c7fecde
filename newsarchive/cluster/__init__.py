"""A crawl past one machine: nodes on a shared Redis frontier, one archive writer.

- worker.py: a crawl node (`newsarchive worker`), the Scrapy side being crawler/cluster/;
- writer.py: the one archive writer (`newsarchive store`);
- runs.py: starting a run and waiting for it (`newsarchive crawl --redis`);
- slots.py: a Redis lock per scheduled slot (`newsarchive schedule --redis`).

docs/cluster.md says how to run it on several machines.
"""
