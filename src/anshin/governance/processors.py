"""Processors (委託先): whoever handles personal data on the city's behalf to deliver mail. They
are listed, with what they receive, apart from disclosures: entrusting is not providing.

Read from live settings, so the page says what the running system does. Credentials in the
URLs (relay password, gateway token) are never shown: only the host and the security."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anshin.core.smtp import SmtpUrlError, parse_smtp_url


@dataclass(frozen=True)
class Processor:
    role: Promise
    name: str
    host: str
    security: Promise
    receives: Promise
    configured: bool


def _mail_relay() -> Processor:
    try:
        config = parse_smtp_url(settings.SMTP_URL)
        host, tls = config.host, config.security != "plain"
    except SmtpUrlError:
        host, tls = "", False
    return Processor(
        role=_("Mail relay or e-mail delivery service"),
        name=settings.MAIL_PROCESSOR_NAME,
        host=host,
        security=_("Encrypted (TLS)") if tls else _("Not encrypted"),
        receives=_(
            "Each mail as it is sent: the recipient's e-mail address and the text of the alert "
            "or notice. Nothing else about the resident."
        ),
        configured=bool(host),
    )


def _sms_gateway() -> Processor:
    parts = urlsplit(settings.SMS_URL) if settings.SMS_URL else None
    secure = bool(parts and parts.scheme.endswith("s"))
    return Processor(
        role=_("SMS gateway"),
        name=settings.SMS_PROCESSOR_NAME,
        host=(parts.hostname or "") if parts else "",
        security=_("Encrypted (TLS)") if secure else _("Not encrypted"),
        receives=_(
            "For staff call-outs sent by SMS only: the staff member's phone number and the "
            "text of the call-out. No resident data."
        ),
        configured=parts is not None,
    )


def processors() -> list[Processor]:
    return [_mail_relay(), _sms_gateway()]
