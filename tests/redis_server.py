"""A real redis-server on a free port of 127.0.0.1, for the cluster tests and benchmark.

Debian's `redis-server` package is installed (apt-get) when missing, as the browser
tests install Chromium, so that the README's test command passes on a fresh machine.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REDIS_SERVER = "redis-server"


def ensure_redis_server() -> str:
    """The redis-server binary, installed from Debian when missing."""
    found = shutil.which(REDIS_SERVER)
    if found:
        return found
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                     "redis-server"]):
        subprocess.run(command, capture_output=True, timeout=900, check=False)
    found = shutil.which(REDIS_SERVER)
    if not found:
        raise RuntimeError("redis-server is missing and apt-get could not install it "
                           "(run as root: apt-get install redis-server)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A redis-server bound to 127.0.0.1 only, without persistence, for the block's life;
    its redis:// URL. Killed at the end."""
    binary = ensure_redis_server()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(directory), "--protected-mode", "yes",
         "--logfile", str(directory / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {directory / 'redis.log'}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)
