"""SMS to staff phones through an Apprise SMS gateway, configured by one URL (``ANSHIN_SMS_URL``).

``settings.SMS_URL`` names the gateway without a recipient (``smseagle://token@gateway:port``);
:func:`sms_send` builds the Apprise plugin from the *parsed* URL with the number as its only
target, so no value is ever spliced into a URL string and a number in the configured URL is
never messaged.

How a failure is classified (Apprise only answers True/False and writes the reason to its log):
the plugin's HTTP exchange is observed, not its log text (anshin.core.apprise_http).

Personal data: Apprise logs the target number at INFO/DEBUG (and the whole parsed URL at
TRACE).  While anshin talks to Apprise, a filter on the ``apprise`` logger drops what is logged
while the plugin is built and rewrites what is logged while sending, replacing the number and
any run of seven or more digits.  anshin's own log lines carry only the outcome.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Literal

from apprise import Apprise, OverflowMode
from apprise.plugins import url_to_dict
from apprise.plugins.base import NotifyBase
from django.conf import settings

from anshin.core.apprise_http import Verdict, apprise_logs_guarded, notify_observed

__all__ = ["SmsResult", "sms_configured", "sms_gateway_problem", "sms_segments", "sms_send"]

log = logging.getLogger(__name__)

# E.164: "+", a country code not starting with 0, at most 15 digits in all.  ASCII digits only
# ([0-9], not \d, which also matches full-width and other scripts' digits).
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class SmsResult:
    outcome: Literal["accepted", "temporary", "permanent"]  # temporary = retry later
    detail: str  # short reason for the console, never the phone number


def sms_configured() -> bool:
    return bool(settings.SMS_URL)


def sms_send(*, phone: str, text: str) -> SmsResult:
    """Send ``text`` to ``phone`` (E.164) through the configured gateway.

    Never raises for gateway trouble: refused numbers, texts and configurations are
    ``permanent``; a gateway that is down, slow (``ANSHIN_SMS_TIMEOUT_SECONDS`` for connecting
    and again for the answer), overloaded (5xx) or rate-limiting (429) is ``temporary``; any
    other 4xx, or a gateway that answers 2xx but refuses the message in its reply, is
    ``permanent``.  Apprise's own retries are switched off: the caller decides when to retry.
    """
    refused = _refusal(phone=phone, text=text)
    if refused is not None:
        return refused
    with _apprise_logs(phone=phone, quiet=True):
        plugin = _plugin_for(settings.SMS_URL, phone=phone)
    if plugin is None:
        return _permanent("the gateway URL (ANSHIN_SMS_URL) is not usable")
    if len(plugin) < 1:
        return _permanent("the gateway service does not accept this number")
    result = _notify(plugin, text=text, phone=phone)
    if result.outcome != "accepted":
        log.warning("SMS not sent (%s): %s", result.outcome, result.detail)
    return result


def sms_gateway_problem(url: str) -> str | None:
    """Why ``url`` cannot be used as the SMS gateway, in plain words (``None`` if it can).

    The answer never repeats the URL, which carries the gateway's credentials."""
    match = re.match(r"\s*([a-z0-9]{1,32})://", url, re.IGNORECASE)
    if match is None:
        return "it is not an Apprise URL (it should look like smseagle://token@host)."
    with _apprise_logs(phone="", quiet=True):
        if url_to_dict(url) is None:
            return (
                f"Apprise does not know the service '{match.group(1).lower()}://' "
                "or cannot read the URL's parts."
            )
        if _plugin_for(url, phone="+10000000000") is None:
            return (
                "Apprise rejected the gateway's settings in the URL "
                "(check the token, host, port and options)."
            )
    return None


def sms_segments(text: str) -> int:
    """How many SMS parts ``text`` needs: 0 for an empty text.

    GSM-7 when every character is in the GSM 03.38 default alphabet (160 septets in one part,
    153 per part when concatenated; characters of the extension table take two septets and are
    never split across parts), otherwise UCS-2 (70 UTF-16 units, 67 per part; a character
    outside the BMP takes two units and is never split).  Gateways that always send Unicode
    (SMSEagle through Apprise asks for it) use the UCS-2 count for every text.
    """
    if not text:
        return 0
    if all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text):
        widths = [2 if char in GSM7_EXTENDED else 1 for char in text]
        return _parts(widths, single=160, multi=153)
    widths = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return _parts(widths, single=70, multi=67)


# GSM 03.38 default alphabet (without the escape character itself) and its extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")


def _parts(widths: list[int], *, single: int, multi: int) -> int:
    if sum(widths) <= single:
        return 1
    parts, used = 1, 0
    for width in widths:
        if used + width > multi:  # a two-unit character moves whole to the next part
            parts, used = parts + 1, 0
        used += width
    return parts


def _refusal(*, phone: str, text: str) -> SmsResult | None:
    """Checks made before anything is sent; the reasons never echo the number."""
    if not sms_configured():
        return _permanent("SMS is not configured (ANSHIN_SMS_URL is empty)")
    if not isinstance(phone, str) or E164.fullmatch(phone) is None:
        return _permanent("the phone number is not in E.164 form (+81...)")
    if not isinstance(text, str) or not text.strip():
        return _permanent("the text is empty")
    limit = settings.SMS_MAX_CHARS
    if len(text) > limit:
        return _permanent(f"the text is longer than {limit} characters")
    return None


def _permanent(detail: str) -> SmsResult:
    return SmsResult(outcome="permanent", detail=detail)


def _temporary(detail: str) -> SmsResult:
    return SmsResult(outcome="temporary", detail=detail)


def _plugin_for(url: str, *, phone: str) -> NotifyBase | None:
    """The Apprise plugin for ``url`` with ``phone`` as its only target, or ``None``.

    The URL is parsed by Apprise and the target set on the parsed form, so a hostile value can
    not change the host, the token or the options.  Apprise retries are off (the caller
    retries), and each socket phase waits at most ``SMS_TIMEOUT_SECONDS``."""
    try:
        parsed = url_to_dict(url)
        if parsed is None:
            return None
        timeout = settings.SMS_TIMEOUT_SECONDS
        parsed.update(targets=[phone], cto=timeout, rto=timeout, retry=0)
        plugin = Apprise.instantiate(parsed, suppress_exceptions=False)
    except Exception:  # Apprise raises assorted errors for bad settings; all mean "unusable"
        return None
    return plugin


def _notify(plugin: NotifyBase, *, text: str, phone: str) -> SmsResult:
    with _apprise_logs(phone=phone, quiet=False):
        verdict = notify_observed(plugin, body=text, overflow=OverflowMode.UPSTREAM)
    return _temporary("gateway plugin error") if verdict is None else _result(verdict)


def _result(verdict: Verdict) -> SmsResult:
    status = verdict.status
    if verdict.outcome == "sent":
        return SmsResult(outcome="accepted", detail=f"HTTP {status}" if status else "ok")
    detail = {
        "http": f"HTTP {status}",
        "unreachable": "gateway unreachable",
        "unexpected answer": f"gateway refused the message (HTTP {status})",
        "no answer": "gateway failure (no HTTP status seen)",
    }.get(verdict.cause, verdict.cause)  # "timeout", "network error"
    return SmsResult(outcome=verdict.outcome, detail=detail)


# --- keeping the number out of Apprise's log ----------------------------------------------------

_DIGIT_RUN = re.compile(r"\d{7,}")


def _drop_all(record: logging.LogRecord) -> bool:
    return True


def _apprise_logs(*, phone: str, quiet: bool) -> contextlib.AbstractContextManager[None]:
    """Drops (``quiet``, while the plugin is built) or rewrites (while sending) Apprise's
    records so that neither the number nor any long digit run leaves the ``apprise`` logger."""
    return apprise_logs_guarded(
        mask="[number]",
        secrets=(phone.lstrip("+"),),
        pattern=_DIGIT_RUN,
        drop=_drop_all if quiet else None,
    )
