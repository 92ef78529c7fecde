"""Who may read an archive that `newsarchive serve` shares: the metadata that locks it.

On a loopback address only the machine's own users can connect, and the archive is served
as it is. On any other address (`--host 0.0.0.0`), serving needs authentication, or
`--public` to say that the archive is meant for anyone who can reach it. Authentication is
datasette's own:

* `--user NAME` with a password: datasette-auth-passwords signs NAME in at /-/login
  against the hash in $NEWSARCHIVE_PASSWORD_HASH (`datasette hash-password` makes one);
* `--root`: datasette's root token; datasette prints a one-time sign-in URL at startup,
  for whoever started the server.

Either way the instance's `allow` block lets only those actors in: every datasette page
and every newsarchive page (newsarchive/web/hooks.py) checks view-instance. robots.txt
(datasette-block-robots, installed with newsarchive) asks crawlers to keep out in all
cases.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

PASSWORD_ENV = "NEWSARCHIVE_PASSWORD_HASH"
HASH_PREFIX = "pbkdf2_sha256$"  # what datasette-auth-passwords' hash-password makes


class AccessError(ValueError):
    """Serving as asked would expose the archive, or the authentication is incomplete."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def locked_metadata(metadata: dict[str, Any], host: str, *, user: str | None, root: bool,
                    public: bool, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """`metadata` with what serving on `host` needs: an allow block and the password
    plugin's account when authenticated; unchanged when not. Raises AccessError when a
    non-loopback host has neither authentication nor --public."""
    environ = dict(os.environ) if environ is None else environ
    if public and (user or root):
        raise AccessError("--public serves the archive to anyone: it cannot go with "
                          "--user or --root")
    if not (user or root):
        if is_loopback(host) or public:
            return metadata
        raise AccessError(
            f"refusing to serve the archive on {host} without authentication: anyone who "
            f"can reach this machine could read it. Sign-in with a password: "
            f"export {PASSWORD_ENV}=\"$(datasette hash-password)\" and add --user NAME; "
            f"or --root for datasette's one-time sign-in URL; or --public if the archive "
            f"is meant for everyone.")
    if user and not re.fullmatch(r"[A-Za-z0-9.-]+", user):
        raise AccessError(f"--user {user!r}: letters, digits, '.' and '-' only")
    locked = {**metadata, "allow": {"id": [name for name in (user, root and "root") if name]}}
    if user:
        password_hash = environ.get(PASSWORD_ENV, "").strip()
        if not password_hash.startswith(HASH_PREFIX):
            raise AccessError(
                f"--user {user} needs the password's hash in ${PASSWORD_ENV} "
                f"(export {PASSWORD_ENV}=\"$(datasette hash-password)\"); "
                f"{'it does not look like one' if password_hash else 'it is not set'}")
        plugins = dict(locked.get("plugins") or {})
        plugins["datasette-auth-passwords"] = {f"{user}_password_hash": {"$env": PASSWORD_ENV}}
        locked["plugins"] = plugins
    return locked
