"""The Scrapy side of a crawl spread over several machines (docs/cluster.md).

Built on scrapy-redis: its Scheduler, queue and duplicate filter hold the frontier in
Redis. What this package adds is what scrapy-redis alone does not guarantee:

- frontier.py: requests in flight held under a lease in Redis, given back to the queue
  when a node dies (scrapy-redis pops them and a killed node loses them); a duplicate
  filter per run that expires;
- politeness.py: one delay per host for the whole cluster, and robots.txt fetched once
  for all nodes;
- spider.py: the `news` spider for every source at once, skipping archived URLs by the
  archive's mirror in Redis instead of SQLite;
- stream.py and results.py: each result sent to a Redis Stream for the one archive
  writer (newsarchive/cluster/writer.py), and the lease let go once it is sent.
"""
