"""Building the mail residents receive: well-formed Japanese (UTF-8, RFC 2047 subject),
Message-ID, Date, List-Id, Auto-Submitted, and the RFC 8058 one-click unsubscribe headers.

Links are built from ANSHIN_BASE_URL, never from a request's Host header.
"""

from __future__ import annotations

import binascii
import os
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from anshin.alerts.models import Alert, Category
from anshin.residents.models import ReceiptCheck, Subscriber
from anshin.residents.tokens import (
    TokenOwner,
    make_confirm_token,
    make_mail_register_token,
    make_manage_token,
    make_receipt_token,
    make_resume_token,
)

#: The residents' pages that mail links to, by their URL name in anshin.residents.urls (which
#: the root URLconf mounts at the site root). Not reverse(): its first call imports the whole
#: URLconf — every view, the API, the admin, about 20 MB — into each worker process, which
#: otherwise never needs it. A test checks every entry against reverse().
RESIDENT_PATHS = {
    "subscribe": "/subscribe/",
    "confirm": "/subscribe/confirm/",
    "subscribe_mail": "/subscribe/mail/",
    "manage": "/manage/",
    "unsubscribe": "/unsubscribe/",
    "receipt": "/receipt/",
    "resume": "/resume/",
}


def absolute(path: str) -> str:
    return settings.BASE_URL + path


def resident_url(name: str, token: str | None = None) -> str:
    """The absolute URL of a residents' page, with its token (URL-safe: signed tokens are
    base64url and colons) when the page takes one."""
    path = RESIDENT_PATHS[name]
    return absolute(path if token is None else f"{path}{token}/")


def manage_url(subscriber: Subscriber) -> str:
    return resident_url("manage", make_manage_token(subscriber))


def unsubscribe_url(subscriber: Subscriber) -> str:
    return resident_url("unsubscribe", make_manage_token(subscriber))


def confirm_url(subscriber: Subscriber) -> str:
    return resident_url("confirm", make_confirm_token(subscriber))


def _sender_name() -> str:
    return f"{settings.CITY_NAME} 防犯・防災メール"


def _mail_domain() -> str:
    return settings.MAIL_FROM.rpartition("@")[2] or "localhost"


def _base_message(*, subject: str, to: str, display_name: str) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    local, _, domain = settings.MAIL_FROM.rpartition("@")
    msg["From"] = Address(display_name=display_name, username=local, domain=domain)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@{_mail_domain()}>"
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def _set_text(msg: EmailMessage, text: str) -> None:
    # base64 keeps long Japanese lines intact through any relay (no 998-octet line limit).
    msg.set_content(text, charset="utf-8", cte="base64")


#: A drill or a test must never read like a real alert, nor an update like a first report.
SUBJECT_MARKS = {
    "Exercise": "【訓練】",
    "Test": "【テスト】",
    "Update": "【続報】",
    "Cancel": "【取消】",
}


def alert_subject(alert: Alert) -> str:
    marks = SUBJECT_MARKS.get(alert.status, "") + SUBJECT_MARKS.get(alert.msg_type, "")
    return f"[{settings.CITY_NAME} {alert.category.name_ja}] {marks}{alert.subject}"


def alert_text(alert: Alert, *, manage_link: str) -> str:
    with translation.override("ja"):
        return render_to_string(
            "delivery/alert_mail.txt",
            {
                "alert": alert,
                "manage_url": manage_link,
                "inquiry": settings.INQUIRY_CONTACT,
                "city": settings.CITY_NAME,
            },
        )


def render_alert(alert: Alert, subscriber: Subscriber, address: str) -> bytes:
    """The complete message for one recipient of an alert."""
    msg = _base_message(subject=alert_subject(alert), to=address, display_name=_sender_name())
    unsubscribe = unsubscribe_url(subscriber)
    msg["List-Id"] = f"{alert.category.name_en} <{alert.category.slug}.{_mail_domain()}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Precedence"] = "bulk"
    _set_text(msg, alert_text(alert, manage_link=manage_url(subscriber)))
    return msg.as_bytes()


_SENTINEL = "\x00ANSHIN-MANAGE-LINK\x00"
_PER_RECIPIENT = ("To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")


@dataclass(frozen=True)
class PreparedAlert:
    """The parts of an alert's mail that are the same for every recipient, built once.

    Building a message with the stdlib costs about 2.4 ms (folding the RFC 2047 subject
    dominates), ten times what handing it to the relay costs. So the common header block is
    serialised once per alert, and per recipient only To, Message-ID, the personal links and
    the base64 body are added — byte for byte what render_alert would give (tested).
    """

    head: bytes
    text_before: str
    text_after: str
    domain: str
    manage_prefix: str
    unsubscribe_prefix: str


def prepare_alert(alert: Alert) -> PreparedAlert:
    msg = _base_message(subject=alert_subject(alert), to="x@invalid", display_name=_sender_name())
    for name in _PER_RECIPIENT:
        del msg[name]
    msg["List-Id"] = f"{alert.category.name_en} <{alert.category.slug}.{_mail_domain()}>"
    msg["Precedence"] = "bulk"
    _set_text(msg, "")
    head = msg.as_bytes().split(b"\r\n\r\n", 1)[0] + b"\r\n"
    before, after = alert_text(alert, manage_link=_SENTINEL).split(_SENTINEL)
    return PreparedAlert(
        head=head,
        text_before=before,
        text_after=after,
        domain=_mail_domain(),
        manage_prefix=resident_url("manage"),
        unsubscribe_prefix=resident_url("unsubscribe"),
    )


def render_prepared(prepared: PreparedAlert, subscriber: TokenOwner, address: str) -> bytes:
    """One recipient's message from a PreparedAlert. `address` is already normalised ASCII."""
    token = make_manage_token(subscriber)
    text = prepared.text_before + prepared.manage_prefix + token + "/" + prepared.text_after
    unsubscribe = (
        f"List-Unsubscribe: <{prepared.unsubscribe_prefix}{token}/>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    )
    return assemble(prepared, text=text, address=address, headers=unsubscribe)


def assemble(prepared: PreparedAlert, *, text: str, address: str, headers: str = "") -> bytes:
    """The common head of the alert, then what differs per recipient (To, Message-ID and any
    further `headers`, CRLF-terminated ASCII), then the text as the base64 body."""
    body = _base64_lines(text.replace("\n", "\r\n").encode())
    personal = f"To: {address}\r\nMessage-ID: <{_unique()}@{prepared.domain}>\r\n{headers}"
    return prepared.head + personal.encode("ascii") + b"\r\n" + body


def _base64_lines(data: bytes) -> bytes:
    """What the email package's base64 body is (76-character lines, CRLF), encoded at once
    rather than one line at a time as `base64.encodebytes` does."""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    return b"\r\n".join(lines) + b"\r\n" if lines else b""


def _unique() -> str:
    """The left part of a Message-ID: 128 random bits in hex, as uuid4().hex has (less 6
    fixed bits) at a seventh of its cost."""
    return os.urandom(16).hex()


def warm_up() -> None:
    """Build one alert mail for nobody, without the database: this loads the mail template,
    its translations and the email package, which the first batch of a fresh worker would
    otherwise load on the clock. (Not the URLconf: links are built without it.)"""
    category = Category(slug="warm-up", name_ja="準備", name_en="Warm-up")
    alert = Alert(pk=1, category=category, subject="準備", body="準備")
    render_prepared(prepare_alert(alert), Subscriber(pk=1, token_key="0" * 32), "x@invalid")


NOTIFICATION_SUBJECTS = {
    "confirm": "【{city}】メールアドレスの確認 / Please confirm your address",
    "complete": "【{city}】登録完了のお知らせ / Registration complete",
    "already": "【{city}】登録済みのご案内 / You are already registered",
    "mail_register": "【{city}】登録用リンクのお知らせ / Your registration link",
}


def render_notification(kind: str, subscriber: Subscriber, address: str) -> bytes:
    """A mail about the resident's own subscription. Holds nothing the requester typed but
    the address itself (which appears only in To:)."""
    context = {
        "city": settings.CITY_NAME,
        "inquiry": settings.INQUIRY_CONTACT,
        "categories": list(subscriber.categories.all()),
        "manage_url": manage_url(subscriber),
        "confirm_url": confirm_url(subscriber) if kind == "confirm" else "",
        # Empty-mail registration: the page where categories are chosen.
        "register_url": (
            resident_url("subscribe_mail", make_mail_register_token(subscriber))
            if kind == "mail_register"
            else ""
        ),
        "subscribe_url": resident_url("subscribe"),
        "hours": settings.CONFIRMATION_MAX_AGE // 3600,
    }
    subject = NOTIFICATION_SUBJECTS[kind].format(city=settings.CITY_NAME)
    msg = _base_message(
        subject=subject, to=address, display_name=f"{settings.CITY_NAME} 防犯・防災メール"
    )
    if kind not in ("confirm", "mail_register"):  # a pending address has nothing to leave
        msg["List-Unsubscribe"] = f"<{unsubscribe_url(subscriber)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    with translation.override("ja"):
        _set_text(msg, render_to_string(f"delivery/notification_{kind}.txt", context))
    return msg.as_bytes()


# --- Bulk notices (migration, receipt check, pause) -------------------------------------------

BULK_SUBJECTS = {
    "migration": "【{city}】防犯・防災メールは新システムに移りました / Our alert mail has moved",
    "receipt_check": "【{city}】年に一度の受信確認のお願い / Please confirm you receive our mail",
    "suspended": "【{city}】配信を一時停止しました / Your alert mail is paused",
}
# Placeholders in the once-rendered text, replaced per recipient by their own link.
_LINKS = {
    "manage_url": "\x00M\x00",
    "unsubscribe_url": "\x00U\x00",
    "receipt_url": "\x00R\x00",
    "resume_url": "\x00S\x00",
}


@dataclass(frozen=True)
class PreparedNotice:
    """A bulk notice built once per batch (and per category set or check): the header block
    and the text with placeholders for the personal links. Same reasoning as PreparedAlert."""

    head: bytes
    text: str
    domain: str
    check_id: int | None
    prefixes: dict[str, str]


def prepare_notice(
    kind: str, *, categories: list[Category], check: ReceiptCheck | None
) -> PreparedNotice:
    msg = _base_message(
        subject=BULK_SUBJECTS[kind].format(city=settings.CITY_NAME),
        to="x@invalid",
        display_name=_sender_name(),
    )
    for name in ("To", "Message-ID"):
        del msg[name]
    msg["Precedence"] = "bulk"
    _set_text(msg, "")
    head = msg.as_bytes().split(b"\r\n\r\n", 1)[0] + b"\r\n"
    with translation.override("ja"):
        text = render_to_string(
            f"delivery/notification_{kind}.txt", _notice_context(categories, check)
        )
    return PreparedNotice(
        head=head,
        text=text,
        domain=_mail_domain(),
        check_id=check.pk if check else None,
        prefixes={
            name: resident_url(name.removesuffix("_url"))
            for name in _LINKS
            if _LINKS[name] in text or name == "unsubscribe_url"
        },
    )


def _notice_context(categories: list[Category], check: ReceiptCheck | None) -> dict[str, object]:
    deadline = ""
    if check is not None:
        deadline = f"{check.deadline.year}年{check.deadline.month}月{check.deadline.day}日"
    return {
        **_LINKS,
        "city": settings.CITY_NAME,
        "inquiry": settings.INQUIRY_CONTACT,
        "sender": settings.MAIL_FROM,
        "categories": categories,
        "deadline": deadline,
        "suspend": check is not None and check.policy == ReceiptCheck.Policy.SUSPEND,
    }


def render_notice(prepared: PreparedNotice, subscriber: TokenOwner, address: str) -> bytes:
    """One resident's notice from a PreparedNotice. `address` is already normalised ASCII."""
    tokens = {
        "manage_url": make_manage_token,
        "unsubscribe_url": make_manage_token,
        "resume_url": make_resume_token,
    }
    text = prepared.text
    links: dict[str, str] = {}
    for name, prefix in prepared.prefixes.items():
        if name == "receipt_url":
            token = make_receipt_token(subscriber, prepared.check_id or 0)
        else:
            token = tokens[name](subscriber)
        links[name] = prefix + token + "/"
        text = text.replace(_LINKS[name], links[name])
    body = _base64_lines(text.replace("\n", "\r\n").encode())
    personal = (
        f"To: {address}\r\n"
        f"Message-ID: <{_unique()}@{prepared.domain}>\r\n"
        f"List-Unsubscribe: <{links['unsubscribe_url']}>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    )
    return prepared.head + personal.encode("ascii") + b"\r\n" + body
