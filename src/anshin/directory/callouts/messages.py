"""The text staff receive: a Japanese mail (via the delivery engine's message helpers) and a
short SMS that fits the reply link into as few segments as possible."""

from __future__ import annotations

from typing import Final

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from anshin.delivery import render
from anshin.directory.callouts import tokens
from anshin.directory.models_callout import Callout

SMS_BODY_MAX: Final = 120  # characters of the message an SMS without a reply link carries


def mail_subject(callout: Callout, *, round: int) -> str:
    prefix = "【再送・未回答の方へ】" if round else ""
    return f"{prefix}【{settings.CITY_NAME} 職員参集】{callout.subject}"


def mail_text(callout: Callout, *, nonce: str, round: int) -> str:
    context = {
        "callout": callout,
        "round": round,
        "reply_url": tokens.reply_url(nonce) if callout.asks_reply else "",
        "deadline": timezone.localtime(callout.reply_deadline) if callout.reply_deadline else None,
        "city": settings.CITY_NAME,
    }
    with translation.override("ja"):
        return render_to_string("directory/callout_mail.txt", context)


def render_mail(callout: Callout, *, nonce: str, round: int, address: str) -> bytes:
    msg = render._base_message(
        subject=mail_subject(callout, round=round),
        to=address,
        display_name=f"{settings.CITY_NAME} 職員参集",
    )
    msg["Importance"] = "high"
    render._set_text(msg, mail_text(callout, nonce=nonce, round=round))
    return msg.as_bytes()


def sms_text(callout: Callout, *, nonce: str, round: int) -> str:
    """Subject and link: the message itself is on the reply page (and in the mail)."""
    head = ("【再送】" if round else "") + f"【{settings.CITY_NAME}職員参集】{callout.subject}"
    if callout.asks_reply:
        return f"{head}\n回答: {tokens.reply_url(nonce)}"
    body = callout.body.strip()
    if len(body) > SMS_BODY_MAX:
        body = body[: SMS_BODY_MAX - 1] + "…"
    return f"{head}\n{body}"
