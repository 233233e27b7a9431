"""Package indexes that fail, on 127.0.0.1: one that refuses connections, one that answers 401, one that answers 404.

Each can also answer the root of its simple index first (what envcheck's pre-flight asks for) and fail only
afterwards, as an index that goes down or turns away the project pages does: then the installer itself meets
the failure, retries and all. Nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAILURES = ("refused", "401", "404")
ROOT_PAGE = b"<!DOCTYPE html><html><body></body></html>\n"


def closed_port() -> int:
    """A port on which nothing listens: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FailingIndex:
    """What the index was asked (paths with their queries) and where it listens."""

    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path and query, Authorization header)

    def url(self, path: str = "/simple", userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def failing_index(failure: str, *, root_answers: bool = False) -> Iterator[FailingIndex]:
    """An index that fails with ``failure`` ("refused", "401", "404"); with ``root_answers`` its root page is
    served first (once), and only what follows fails: for "refused" the server then stops listening."""
    if failure == "refused" and not root_answers:
        yield FailingIndex(closed_port())
        return
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    index = FailingIndex(int(server.server_address[1]))
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            index.requests.append((self.path, self.headers.get("Authorization") or ""))
            root = urlsplit(self.path).path.rstrip("/") in ("/simple", "")
            if root_answers and root and len(index.requests) == 1:
                if failure == "refused":
                    server.socket.close()  # from now on connections are refused (this one is open already)
                    stop.set()
                self._send(200, ROOT_PAGE)
                return
            if failure == "401":
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private index"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(404, b"not here\n")

        do_HEAD = do_GET  # noqa: N815

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    closer = threading.Thread(target=lambda: (stop.wait(), server.shutdown(), server.server_close()), daemon=True)
    closer.start()
    try:
        yield index
    finally:
        stop.set()
        closer.join(timeout=5)
