"""Japanese telephone numbers: E.164 for storage, the national format for people.

Accepted (after NFKC, so full-width digits, hyphens and spaces count as their ASCII forms):

* mobile and IP phones, 11 digits: 070 / 080 / 090 / 050 (``090-1234-5678``);
* geographic fixed lines, 10 digits (``03-1234-5678``, ``042-000-0000``);
* either written as ``+81 …``, with or without the trunk ``0`` in brackets (``+81 (0)3 …``).

Refused, each with a code: other countries, numbers without their leading ``0`` (what Excel
does to a phone column it takes for a number), service numbers that reach no person (0120,
0800, 0570, 0990, 0180, 020 pagers and M2M), wrong lengths, and anything else than digits,
separators (hyphens, dashes, spaces, brackets, dots) and a leading ``+``. Extensions (内線) are
refused too: no dialler can use them.

The national format splits off the last four digits (the subscriber number, always four) and
the area code: 2 digits for 03 (Tokyo) and 06 (Osaka), else 3. Japan also has 4- and 5-digit
area codes (0422, 04992 …); telling them apart needs the national numbering table, so such
numbers show as ``042-2xx-xxxx`` instead of ``0422-xx-xxxx``. The digits are always exact.

Like :mod:`anshin.core.addresses`, an :class:`InvalidPhone` never carries the number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

__all__ = ["InvalidPhone", "national_format", "normalize_phone"]

MAX_INPUT_LENGTH: Final = 40

_MESSAGES: Final[Mapping[str, str]] = {
    "empty": "The phone number is empty.",
    "too_long": "The phone number is too long.",
    "characters": "The phone number may contain only digits, hyphens, spaces and brackets.",
    "foreign": "Only Japanese phone numbers (+81) are accepted.",
    "leading_zero": "The phone number does not start with 0.",
    "service_number": "This is a service number (0120, 0570 …), not a personal phone.",
    "length": "The phone number has the wrong number of digits.",
}

#: Hyphen look-alikes people type or paste (the katakana long-vowel mark ー among them).
_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\ufe63\uff0d"
_SEPARATORS: Final = re.compile(r"[ \t\u3000().-]")  # after the dashes became "-"
_DIGITS: Final = re.compile(r"[0-9]+", re.ASCII)
_MOBILE: Final = frozenset({"070", "080", "090", "050"})
_SERVICE_PREFIXES: Final = ("0120", "0180", "0570", "0800", "0990", "020", "060")
_TWO_DIGIT_AREA_CODES: Final = frozenset({"03", "06"})


class InvalidPhone(ValueError):
    """A phone number was refused; ``code`` names why, the message never quotes it."""

    code: str

    def __init__(self, code: str) -> None:
        super().__init__(_MESSAGES[code])
        self.code = code

    def __reduce__(self) -> tuple[type[InvalidPhone], tuple[str]]:
        return (type(self), (self.code,))


def normalize_phone(raw: str) -> str:
    """Return ``raw`` in E.164 (``+819012345678``) or raise :class:`InvalidPhone`."""
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidPhone("too_long")
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise InvalidPhone("empty")
    text = text.translate({ord(dash): "-" for dash in _DASHES})
    international = text.startswith("+")
    digits = _SEPARATORS.sub("", text[1:] if international else text)
    if not _DIGITS.fullmatch(digits):
        raise InvalidPhone("characters")
    national = _from_international(digits) if international else digits
    _check_national(national)
    return "+81" + national[1:]


def national_format(e164: str) -> str:
    """``+819012345678`` → ``090-1234-5678``; ``+81312345678`` → ``03-1234-5678``."""
    if not e164.startswith("+81"):
        raise InvalidPhone("foreign")
    number = "0" + e164[3:]
    if len(number) == 11:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    area = 2 if number[:2] in _TWO_DIGIT_AREA_CODES else 3
    return f"{number[:area]}-{number[area:-4]}-{number[-4:]}"


def _from_international(digits: str) -> str:
    if not digits.startswith("81"):
        raise InvalidPhone("foreign")
    rest = digits[2:]
    # "+81 (0)3 …": some people keep the trunk 0 after the country code.
    return "0" + (rest[1:] if rest.startswith("0") else rest)


def _check_national(number: str) -> None:
    if not number.startswith("0"):
        # Nine or ten digits: a whole number but for its 0, the way Excel shows a phone column.
        raise InvalidPhone("leading_zero" if len(number) in (9, 10) else "length")
    if number.startswith("00"):  # an international call prefix (0081 …, 001 …)
        raise InvalidPhone("foreign")
    if number.startswith(_SERVICE_PREFIXES):
        raise InvalidPhone("service_number")
    if len(number) == 11 and number[:3] in _MOBILE:
        return
    # Ten digits and not 0X0-: a geographic number (0X0- prefixes are all non-geographic).
    if len(number) == 10 and number[2] != "0":
        return
    raise InvalidPhone("length")
