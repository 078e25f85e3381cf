"""Problems with a file or a row, in plain words that never quote a cell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class FileRefused(Exception):
    """The file cannot be imported at all; ``message`` is plain and never quotes the file."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RowError:
    """One problem of one row: its line (the header is line 1), the field, a code, a message."""

    line: int
    field: str
    code: str
    message: str


_ROW_MESSAGES: Final[Mapping[str, Promise]] = {
    "row_too_long": gettext_lazy("The row is longer than %(max)d characters."),
    "quote": gettext_lazy(
        "A quotation mark in this row is not closed or is misplaced "
        "(a cell may not contain a line break)."
    ),
    "columns": gettext_lazy("The row has %(cells)d cells; the header row has %(columns)d."),
    "duplicate": gettext_lazy("Same %(field)s as line %(first)d."),
    "too_long": gettext_lazy("The %(field)s is longer than %(max)d characters."),
    "control_chars": gettext_lazy("The %(field)s contains tabs or other control characters."),
    "staff_id_missing": gettext_lazy(
        "No staff number. The file has a staff number column, so every row needs one."
    ),
    "staff_id_invalid": gettext_lazy(
        "The staff number has spaces or is longer than %(max)d characters."
    ),
    "email_in_use": gettext_lazy(
        "This e-mail address belongs to another active staff member, who is not in the file."
    ),
    "email_empty": gettext_lazy("No e-mail address. Every staff member needs one."),
    "email_too_long": gettext_lazy("The e-mail address is too long."),
    "email_no_at": gettext_lazy("The e-mail address has no @ sign."),
    "email_local_part": gettext_lazy("The part of the e-mail address before the @ is not valid."),
    "email_domain": gettext_lazy("The domain of the e-mail address (after the @) is not valid."),
    "email_quoted": gettext_lazy("Quoted e-mail addresses are not supported."),
    "email_ip_literal": gettext_lazy("An e-mail address must have a domain, not an IP address."),
    "email_control_chars": gettext_lazy(
        "The e-mail address contains spaces or control characters."
    ),
    "phone_empty": gettext_lazy("The phone number is empty."),
    "phone_too_long": gettext_lazy("The phone number is too long."),
    "phone_characters": gettext_lazy(
        "The phone number may contain only digits, hyphens, spaces and brackets "
        "(no extension numbers)."
    ),
    "phone_foreign": gettext_lazy("Only Japanese phone numbers are accepted (0… or +81…)."),
    "phone_leading_zero": gettext_lazy(
        "The phone number does not start with 0. Excel removes the leading zero from a column "
        "it takes for numbers: format the column as text, or write the hyphens."
    ),
    "phone_service_number": gettext_lazy(
        "This is a service number (0120, 0800, 0570 …), not a phone that reaches a person."
    ),
    "phone_length": gettext_lazy(
        "The phone number has the wrong number of digits (10 for a fixed line, 11 for a mobile)."
    ),
}
_FIELD_LABELS: Final[Mapping[str, Promise]] = {
    "staff_id": gettext_lazy("staff number"),
    "name": gettext_lazy("name"),
    "email": gettext_lazy("e-mail address"),
    "phone": gettext_lazy("phone number"),
    "department": gettext_lazy("department"),
    "position": gettext_lazy("position"),
    "team": gettext_lazy("team"),
    "area": gettext_lazy("area of residence"),
    "oncall_group": gettext_lazy("on-call group"),
}


def row_error(line: int, name: str, code: str, **params: object) -> RowError:
    """A :class:`RowError` with its message in the active language. ``name`` is a field, a
    further column's header, or "" for the whole row."""
    label = _FIELD_LABELS.get(name)
    params["field"] = str(label) if label is not None else _("column %(name)s") % {"name": name}
    return RowError(line=line, field=name, code=code, message=str(_ROW_MESSAGES[code]) % params)
