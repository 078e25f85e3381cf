"""Fake X, Mastodon, Bluesky, LINE, Slack and webhook servers on 127.0.0.1.

Each speaks the HTTP of what Apprise's plugin sends (read from the plugins in
apprise/plugins/): the path, the method, the credentials it carries, and the answer the real
service gives. Nothing leaves the machine. ``fail_with(status, body)`` makes the following
requests fail (until ``fail_with(None)``), to drive the retry and failure paths. A server
runs from ``start()`` to ``stop()``, or within ``with fake_x() as fake:``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, bytes, str]  # status, body, content type
Route = Callable[["Received"], Answer]


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _json(status: int, value: Any) -> Answer:
    return status, json.dumps(value).encode(), "application/json"


@dataclass
class FakeServer:
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)  # every request
    accepted: list[Received] = field(default_factory=list)  # those answered with 2xx
    failure: Answer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def fail_with(self, status: int | None, body: bytes = b"{}", ctype: str = "text/plain") -> None:
        self.failure = None if status is None else (status, body, ctype)

    def answer(self, request: Received) -> Answer:
        answer = self._route(request)
        with self.lock:
            self.received.append(request)
            if 200 <= answer[0] < 300:
                self.accepted.append(request)
        return answer

    def _route(self, request: Received) -> Answer:
        if self.failure is not None:
            return self.failure
        path = request.path.split("?")[0]
        for (method, pattern), route in self.routes.items():
            if method == request.method and re.fullmatch(pattern, path):
                return route(request)
        return _json(404, {"error": "not found"})

    def posts(self, path_pattern: str) -> list[Received]:
        """The requests to `path_pattern` the fake accepted (answered 2xx)."""
        with self.lock:
            return [r for r in self.accepted if re.fullmatch(path_pattern, r.path.split("?")[0])]

    def start(self) -> FakeServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        server = self._server
        threading.Thread(target=lambda: server.serve_forever(0.05), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1024 * 1024))
            request = Received(self.command, self.path, dict(self.headers.items()), body)
            status, payload, ctype = fake.answer(request)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
            pass

    return Handler


# --- the services ------------------------------------------------------------------------------


def fake_x() -> FakeServer:
    """POST /2/tweets (X API v2, OAuth 1.0a): 201 with the new post's id."""
    fake = FakeServer()
    fake.routes[("POST", "/2/tweets")] = lambda r: _json(
        201, {"data": {"id": "1790000000000000001", "text": r.json()["text"]}}
    )
    return fake


def fake_mastodon() -> FakeServer:
    """POST /api/v1/statuses (Bearer token): 200 with the status."""
    fake = FakeServer()
    fake.routes[("POST", "/api/v1/statuses")] = lambda r: _json(
        200, {"id": "1", "content": r.json()["status"], "account": {"username": "city"}}
    )
    return fake


BSKY_DID = "did:plc:anshincitytest"
BSKY_PDS = "https://pds.fake.invalid"
BSKY_HOSTS = ("https://public.api.bsky.app", "https://plc.directory", BSKY_PDS)


def fake_bluesky(jwt: str = "eyJ.fake-access-jwt.sig") -> FakeServer:
    """Handle → DID (public API), DID document (PLC directory) naming the PDS, a session
    (createSession with the app password) and the post (createRecord with the bearer JWT)."""
    fake = FakeServer()
    fake.routes[("GET", "/xrpc/com.atproto.identity.resolveHandle")] = lambda r: _json(
        200, {"did": BSKY_DID}
    )
    fake.routes[("GET", f"/{BSKY_DID}")] = lambda r: _json(
        200,
        {
            "id": BSKY_DID,
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": BSKY_PDS,
                }
            ],
        },
    )
    fake.routes[("POST", "/xrpc/com.atproto.server.createSession")] = lambda r: _json(
        200, {"did": BSKY_DID, "accessJwt": jwt, "refreshJwt": jwt + "-refresh"}
    )
    fake.routes[("POST", "/xrpc/com.atproto.repo.createRecord")] = lambda r: _json(
        200, {"uri": f"at://{BSKY_DID}/app.bsky.feed.post/1", "cid": "bafy"}
    )
    return fake


def fake_line() -> FakeServer:
    """POST /v2/bot/message/push (Messaging API, Bearer token): 200 {}."""
    fake = FakeServer()
    fake.routes[("POST", "/v2/bot/message/push")] = lambda r: _json(200, {})
    return fake


def fake_slack() -> FakeServer:
    """POST /services/T/B/C (incoming webhook): 200 with the body "ok"."""
    fake = FakeServer()
    fake.routes[("POST", "/services/[^/]+/[^/]+/[^/]+")] = lambda r: (200, b"ok", "text/plain")
    return fake


def fake_webhook() -> FakeServer:
    """Any POST under /hook: 200."""
    fake = FakeServer()
    fake.routes[("POST", "/hook.*")] = lambda r: _json(200, {"ok": True})
    return fake


class HostRedirect:
    """Stands in for ``requests`` in a plugin module whose hosts are written into its code
    (Bluesky's public API, PLC directory and the PDS it names must be https): each call to
    one of `hosts` goes to the fake server instead."""

    def __init__(self, inner: Any, hosts: tuple[str, ...], target: str) -> None:
        self._inner, self._hosts, self._target = inner, hosts, target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _url(self, url: str) -> str:
        for host in self._hosts:
            if url.startswith(host):
                return self._target + url[len(host) :]
        raise AssertionError(f"unexpected host in {url}")  # nothing may leave the machine

    def post(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return self._inner.post(self._url(url), *args, **kwargs)

    def get(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return self._inner.get(self._url(url), *args, **kwargs)
