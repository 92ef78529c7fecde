"""The crawl's DNS resolver: a name whose answer is not a public address is refused
before anything is sent to it (TWISTED_DNS_RESOLVER in crawler/settings.py).

Scrapy connects through the reactor's resolver: every host name a connection is opened
to, a site's or a proxy's, is looked up here and nowhere else. So the address judged is
the address connected to: the answer is checked before it is cached, and the cache
(Scrapy's `dnscache`, kept for the whole run) hands that same answer to every later
connection. A name that answered 93.184.216.34 once and 127.0.0.1 the next time (DNS
rebinding) is never asked twice.

A name may resolve to a loopback, private or link-local address only when a seed names
it (an entry point of a source being crawled) or it is the host of a proxy in use: those
are registered by crawler/safety.py as each source's policy is made. Any other such
answer fails the lookup with `NonPublicAnswer`; the reason is kept in `refused_hosts` so
the failure row says what happened ("www.163.com resolved to 127.0.0.1, a non-public
address no seed names") instead of "DNS lookup failed".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from scrapy.resolver import CachingThreadedResolver, dnscache
from twisted.internet import defer
from twisted.internet.base import ThreadedResolver
from twisted.internet.error import DNSLookupError

# Host names allowed to resolve to non-public addresses: named by a seed, or a proxy.
allowed_local_names: set[str] = set()
# Host name -> why it was refused, for this process's crawls.
refused_hosts: dict[str, str] = {}


class NonPublicAnswer(DNSLookupError):
    """A name resolved to an address the crawler will not connect to; str() is why."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "non-public answer"


# The "fake-ip" answers of Clash-style local proxies (a benchmarking range, RFC 2544):
# connecting to one goes through that proxy to the real host, so it stands for the host.
FAKE_IP = ipaddress.ip_network("198.18.0.0/15")


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global or ip in FAKE_IP


def answer_refusal(name: str, address: str) -> str | None:
    """Why the answer `address` for `name` may not be connected to; None when it may."""
    host = name.lower().rstrip(".")
    if host in allowed_local_names or is_public(address):
        return None
    if _is_literal(host):
        return None  # an address spelt out: the URL policy (crawler/safety.py) judged it
    return f"{host} resolved to {address}, a non-public address no seed names"


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class CheckedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing non-public answers before they are cached or
    connected to."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if name in dnscache:
            return defer.succeed(dnscache[name])  # checked before it was cached
        host = name.lower().rstrip(".")
        if host in refused_hosts:
            return defer.fail(NonPublicAnswer(refused_hosts[host]))
        answer = self.lookup(name)
        answer.addCallback(self._checked, name)
        if dnscache.limit:
            answer.addCallback(self._cache_result, name)
        return answer

    def lookup(self, name: str) -> defer.Deferred[str]:
        """The system resolver's answer (getaddrinfo in a thread): one IPv4 address."""
        return ThreadedResolver.getHostByName(self, name, (self.timeout,))  # type: ignore[arg-type]

    def _checked(self, address: str, name: str) -> str:
        why = answer_refusal(name, address)
        if why:
            refused_hosts[name.lower().rstrip(".")] = why
            raise NonPublicAnswer(why)
        return address


def refusal_for(host: str | None) -> str | None:
    """Why a lookup of `host` was refused this run, if it was."""
    if not host:
        return None
    return refused_hosts.get(host.lower().rstrip("."))


def allow_local_name(host: Any) -> None:
    if isinstance(host, str) and host:
        allowed_local_names.add(host.lower().rstrip("."))
