"""anshin's own system checks, run by `anshin check` (and before `serve`), in plain words."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from anshin.core.smtp import SmtpUrlError, parse_smtp_url


@register("anshin")
def configuration(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    try:
        parse_smtp_url(settings.SMTP_URL)
    except SmtpUrlError as exc:
        problems.append(Error(f"ANSHIN_SMTP_URL is not usable: {exc}", id="anshin.E001"))
    try:
        from anshin.core.crypto import _decode_key

        _decode_key(settings.DATA_KEY)
    except ValueError as exc:
        problems.append(Error(str(exc), id="anshin.E002"))
    if settings.RELAY_MAX_RATE > 0 and settings.RELAY_MAX_CONNECTIONS <= 0:
        problems.append(
            Error(
                "ANSHIN_RELAY_MAX_RATE needs ANSHIN_RELAY_MAX_CONNECTIONS: each connection is "
                "paced at rate / connections.",
                id="anshin.E005",
            )
        )
    if "@" not in settings.MAIL_FROM:
        problems.append(Error("ANSHIN_FROM must be an e-mail address.", id="anshin.E003"))
    if not settings.BASE_URL.startswith(("http://", "https://")):
        problems.append(
            Error("ANSHIN_BASE_URL must start with http:// or https://.", id="anshin.E004")
        )
    problems.extend(_sms_gateway())
    return problems


def _sms_gateway() -> list[CheckMessage]:
    """An SMS URL Apprise cannot use would only show when staff are called out in a disaster."""
    if not settings.SMS_URL:
        return []
    from anshin.core.sms import sms_gateway_problem

    problem = sms_gateway_problem(settings.SMS_URL)
    if problem is None:
        return []
    return [Error(f"ANSHIN_SMS_URL is set but cannot be used: {problem}", id="anshin.E030")]


@register("anshin", deploy=True)
def production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if not settings.HTTPS:
        problems.append(
            Warning(
                "ANSHIN_BASE_URL is not https://: links in mail and cookies travel in clear.",
                id="anshin.W001",
            )
        )
    import os

    for name in ("ANSHIN_SECRET_KEY", "ANSHIN_DATA_KEY"):
        if not os.environ.get(name):
            problems.append(
                Warning(
                    f"{name} is not set: a key generated under ANSHIN_HOME is used; "
                    "keep a copy apart from backups.",
                    id="anshin.W002",
                )
            )
    return problems


@register("anshin", deploy=True)
def reachability(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from anshin.core import health

    return [
        Warning(f"{name}: {problem}", id="anshin.W010")
        for name, problem in health.status().items()
        if problem is not None
    ]
