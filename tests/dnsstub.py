"""A DNS stub for crawls in a child process: the crawl's own resolver
(crawler/resolver.py CheckedResolver) with its system lookup replaced by a table, so a
test can make a public-looking name answer 127.0.0.1 and no lookup leaves the machine.

    newsarchive crawl ... -s TWISTED_DNS_RESOLVER=dnsstub.StubResolver
    with PYTHONPATH=tests and NEWSARCHIVE_TEST_DNS='{"news.example": "127.0.0.1"}'

A name the table lacks fails as an unknown name does ("DNS lookup failed"). Every lookup
made is appended to $NEWSARCHIVE_TEST_DNS_LOG when set.
"""

from __future__ import annotations

import json
import os

from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from crawler.resolver import CheckedResolver


class StubResolver(CheckedResolver):
    def lookup(self, name: str) -> defer.Deferred[str]:
        table = json.loads(os.environ.get("NEWSARCHIVE_TEST_DNS", "{}"))
        log = os.environ.get("NEWSARCHIVE_TEST_DNS_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(name + "\n")
        if name in table:
            return defer.succeed(table[name])
        try:  # an address spelt out resolves to itself, as getaddrinfo does
            import ipaddress

            return defer.succeed(str(ipaddress.ip_address(name)))
        except ValueError:
            return defer.fail(DNSLookupError(f"no such name (stub): {name}"))
