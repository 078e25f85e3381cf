"""Helpers for the residents' bulk-mail tests: reading the links out of a received mail."""

from __future__ import annotations

import re
from email.message import EmailMessage

LINK = re.compile(r"http://127\.0\.0\.1:8000(/[^\s]+/)")


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def link_in(mail: EmailMessage, prefix: str) -> str:
    """The path of the first link in the mail's text that starts with ``prefix``."""
    return next(path for path in LINK.findall(body_of(mail)) if path.startswith(prefix))


def unsubscribe_header_path(mail: EmailMessage) -> str:
    match = LINK.search(str(mail["List-Unsubscribe"]))
    assert match, "no List-Unsubscribe link"
    return match.group(1)
