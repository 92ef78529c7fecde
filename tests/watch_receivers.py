"""Real receivers on 127.0.0.1 for the watch tests: an SMTP server (aiosmtpd) and an HTTP
server for Apprise's json:// that can fail or hang on purpose."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from browse_data import free_port


@dataclass
class Mailbox:
    """What the SMTP server received: parsed messages."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default))
        return "250 OK"

    def texts(self) -> list[str]:
        """Each message's subject and text (decoded, whatever its transfer encoding)."""
        out = []
        for message in self.messages:
            parts = [part.get_content() for part in message.walk()
                     if part.get_content_type() in ("text/plain", "text/html")]
            out.append(str(message["subject"]) + "\n" + "\n".join(parts))
        return out


@contextmanager
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    """An SMTP server on 127.0.0.1; yields (apprise mailto:// URL, mailbox)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        url = (f"mailto://127.0.0.1:{port}?smtp=127.0.0.1&mode=insecure"
               "&from=alerts@example.com&to=pr@example.com")
        yield url, mailbox
    finally:
        controller.stop()


@dataclass
class Hooks:
    """What the json:// receiver got. `fail_first`: answer 500 to that many requests;
    `hang`: hold the next request unanswered until released (and count it as not
    delivered); `accepted`: the payloads answered 200."""

    fail_first: int = 0
    hang: bool = False
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def bodies(self) -> list[str]:
        return [payload["title"] + "\n" + payload["message"] for payload in self.accepted]


@contextmanager
def json_receiver(hooks: Hooks | None = None) -> Iterator[tuple[str, Hooks]]:
    """An HTTP server on 127.0.0.1 taking Apprise json:// posts; yields (URL, hooks)."""
    hooks = hooks or Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hooks.arrived.set()
            if hooks.hang:
                hooks.release.wait(60)
                hooks.refused += 1
                return  # the sender was killed meanwhile: nothing to answer
            if hooks.fail_first > 0:
                hooks.fail_first -= 1
                hooks.refused += 1
                self.send_response(500)
                self.end_headers()
                return
            hooks.accepted.append(json.loads(body))  # json.loads undoes the \\u escapes
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # rto: a long read timeout, so that a held request is still pending when killed.
        yield f"json://127.0.0.1:{server.server_address[1]}/in?rto=60", hooks
    finally:
        hooks.release.set()
        server.shutdown()
        server.server_close()
