"""A fake SMSEagle gateway on loopback, for tests (here and in other apps).

It speaks the part of SMSEagle's API v1 that Apprise's ``smseagle://`` plugin uses: a JSON-RPC
``POST /jsonrpc/sms`` with ``{"method": "sms.send_sms", "params": {"access_token", "to",
"message", "unicode", "responsetype", ...}}``.  Like the appliance it answers HTTP 200 with an
"extended" result: ``{"result": {"message_id": "1", "status": "ok"}}`` when it takes the
message, ``{"result": {"error_text": "Invalid login or password", "status": "error"}}`` for a
wrong token and ``"Wrong parameters"`` for a malformed request.  ``respond_with(status)`` makes
the following requests fail with that HTTP status (until ``respond_with(200)``), and
``hang()`` makes them wait without answering (until ``stop()``), to try a dead gateway.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeSmsGateway", "ReceivedSms"]

PATHS = ("/jsonrpc/sms", "/index.php/jsonrpc/sms")
NUMBER = re.compile(r"\+?[0-9]{7,15}")
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class ReceivedSms:
    to: str  # as the gateway received it (E.164 from anshin)
    text: str


@dataclass
class FakeSmsGateway:
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    received: list[ReceivedSms] = field(default_factory=list)
    requests: int = 0  # every HTTP request that reached the gateway, taken or not
    status: int = 200
    _server: ThreadingHTTPServer | None = None
    _released: threading.Event = field(default_factory=threading.Event)
    _hanging: bool = False
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the gateway first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The Apprise URL for this gateway, without a target (what ANSHIN_SMS_URL holds)."""
        return f"smseagle://{self.token}@127.0.0.1:{self.port}"

    def respond_with(self, status: int) -> None:
        self.status = status

    def hang(self) -> None:
        self._hanging = True

    def start(self) -> FakeSmsGateway:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval makes stop() quick (the default waits up to half a second).
        server = self._server
        threading.Thread(target=lambda: server.serve_forever(0.05), daemon=True).start()
        return self

    def stop(self) -> None:
        self._released.set()  # hanging requests give up before the server closes
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON reply for one request, as the appliance would give."""
        if self.status != 200:
            return self.status, _error("Service unavailable" if self.status >= 500 else "Error")
        params = _params(body, content_type)
        if params is None:
            return 200, _error("Wrong parameters")
        if params.get("access_token") != self.token:
            return 200, _error("Invalid login or password")
        numbers = str(params["to"]).split(",")
        with self.lock:
            self.received.extend(ReceivedSms(to=n, text=params["message"]) for n in numbers)
            ids = [str(next(self._ids)) for _ in numbers]
        results = [{"message_id": i, "status": "ok"} for i in ids]
        return 200, {"result": results[0] if len(results) == 1 else results}


def _error(text: str) -> dict[str, Any]:
    return {"result": {"error_text": text, "status": "error"}}


def _params(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The request's params if they have the shape SMSEagle requires, else ``None``."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("method") != "sms.send_sms":
        return None
    params = payload.get("params")
    if not isinstance(params, dict):
        return None
    to, message = params.get("to"), params.get("message")
    if not isinstance(to, str) or not all(NUMBER.fullmatch(n) for n in to.split(",")):
        return None
    if not isinstance(message, str) or not message:
        return None
    if params.get("unicode", 0) not in (0, 1, "0", "1"):
        return None
    return params


def _handler_for(gateway: FakeSmsGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            with gateway.lock:
                gateway.requests += 1
            if self.path not in PATHS:
                self._reply(404, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, _error("Request too large"))
                return
            body = self.rfile.read(length)
            if gateway._hanging:
                gateway._released.wait()
                return
            status, reply = gateway.answer(body, self.headers.get("Content-Type", ""))
            self._reply(status, reply)

        def _reply(self, status: int, reply: dict[str, Any]) -> None:
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the default writes every request line to stderr."""

    return Handler
