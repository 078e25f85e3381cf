"""A small cookie-keeping HTTP client for end-to-end tests against a running stack."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    url: str
    text: str
    headers: dict[str, str]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """Keeps cookies, sends the CSRF token of the last page, optionally follows redirects."""

    def __init__(self, base_url: str, *, follow: bool = True) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)
        self.last = ""

    def get(self, path: str) -> Response:
        return self._open(urllib.request.Request(self._url(path)))

    def post(
        self, path: str, data: dict[str, str | list[str]] | None = None, *, csrf: bool = True
    ) -> Response:
        fields = dict(data or {})
        if csrf and (match := CSRF.search(self.last)):
            fields.setdefault("csrfmiddlewaretoken", match.group(1))
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        request = urllib.request.Request(self._url(path), data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Referer", self.base_url + "/")
        return self._open(request)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def _open(self, request: urllib.request.Request) -> Response:
        try:
            with self.opener.open(request, timeout=30) as raw:
                response = Response(raw.status, raw.url, raw.read().decode(), dict(raw.headers))
        except urllib.error.HTTPError as err:
            response = Response(err.code, err.url or "", err.read().decode(), dict(err.headers))
        self.last = response.text
        return response
