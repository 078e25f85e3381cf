"""Validation and normalisation of subscriber e-mail addresses.

Why not Django's ``EmailValidator`` or the ``email-validator`` package?  Japanese
mobile carriers (docomo, au, SoftBank, the old Vodafone and WILLCOM networks)
historically handed out addresses whose local part breaks the RFC 5322
dot-atom rules: ``taro..jiro@docomo.ne.jp``, ``taro.@ezweb.ne.jp``,
``.taro@docomo.ne.jp``.  Many residents still use them, and their carrier
still delivers to them, so refusing them would silently cut people off from
alert mail.  Both off-the-shelf validators refuse them, so we keep our own:
lenient for the carrier domains only, strict everywhere else.

:func:`normalize_address` is the one and only normalisation: storage, the
look-up hash and every comparison must go through it, otherwise two spellings
of the same address would be stored twice or fail to match.

Personal data rule: an :class:`InvalidAddress` never carries the address (nor
any part of it) in its message, its arguments or its chained exceptions, so it
can be logged or shown to an operator safely.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

__all__ = ["LEGACY_CARRIER_DOMAINS", "InvalidAddress", "normalize_address"]

#: Inputs longer than this are refused before any work (NFKC, IDNA) is done,
#: so a hostile multi-megabyte "address" costs nothing.
MAX_INPUT_LENGTH: Final = 1000
#: RFC 5321 path limit (256) minus the angle brackets.
MAX_ADDRESS_LENGTH: Final = 254
#: RFC 5321 section 4.5.3.1.1.
MAX_LOCAL_PART_OCTETS: Final = 64
#: RFC 1035: 255 octets on the wire, i.e. 253 characters in dotted text form.
MAX_DOMAIN_LENGTH: Final = 253

LEGACY_CARRIER_DOMAINS: Final[frozenset[str]] = frozenset(
    {
        # NTT docomo
        "docomo.ne.jp",
        # au (KDDI)
        "ezweb.ne.jp",
        "au.com",
        # SoftBank and its Vodafone / J-Phone / Disney Mobile predecessors
        "softbank.ne.jp",
        "i.softbank.jp",
        "d.vodafone.ne.jp",
        "h.vodafone.ne.jp",
        "t.vodafone.ne.jp",
        "c.vodafone.ne.jp",
        "k.vodafone.ne.jp",
        "n.vodafone.ne.jp",
        "q.vodafone.ne.jp",
        "r.vodafone.ne.jp",
        "s.vodafone.ne.jp",
        "disney.ne.jp",
        # Y!mobile, WILLCOM, EMOBILE
        "ymobile.ne.jp",
        "y-mobile.ne.jp",
        "pdx.ne.jp",
        "willcom.com",
        "emnet.ne.jp",
    }
)
"""Domains whose mailboxes may have non-RFC local parts (leading, trailing or
repeated dots).  Only these get the lenient local-part rules."""

#: Carrier parents whose every subdomain is also legacy (WILLCOM handed out
#: ``di.pdx.ne.jp``, ``dj.pdx.ne.jp``, ``wm.pdx.ne.jp``, ...).
_LEGACY_CARRIER_PARENTS: Final = ("pdx.ne.jp",)

_MESSAGES: Final[Mapping[str, str]] = {
    "empty": "The e-mail address is empty.",
    "too_long": "The e-mail address is too long.",
    "no_at": "The e-mail address has no @ sign.",
    "local_part": "The part before the @ sign is not valid.",
    "domain": "The domain (the part after the @ sign) is not valid.",
    "quoted": "Quoted local parts are not supported.",
    "ip_literal": "IP address literals are not supported as a domain.",
    "control_chars": "The e-mail address contains spaces or control characters.",
}

# Categories refused before anything else, whatever the shape of the input:
# control characters (CR, LF, NUL, TAB: header injection), invisible format
# characters (zero-width space etc., which IDNA would silently delete),
# surrogates and line/paragraph separators.
_CONTROL_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Ordinary spaces are refused too, but only after the quoted / IP-literal
# checks so that ``"a b"@example.jp`` is reported for what it is.
_SPACE_CATEGORIES: Final = frozenset({"Zs"})

# RFC 5322 atext plus the dot; the dot rules are checked separately.
_LOCAL_PART_RE: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+", re.ASCII)
# One LDH label (RFC 1123), already lower-cased.
_LABEL_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
# IDNA 2003 (RFC 3490 section 3.1) label separators left over after NFKC.
_IDEOGRAPHIC_FULL_STOP: Final = "\u3002"


class InvalidAddress(ValueError):
    """An address was refused.

    ``code`` names the reason so that forms can show a translated message and
    metrics can count reasons.  The message is a fixed sentence chosen by the
    code and never contains the address: addresses are personal data and
    exception messages end up in logs and error trackers.
    """

    code: str

    def __init__(self, code: str) -> None:
        super().__init__(_MESSAGES[code])
        self.code = code

    def __reduce__(self) -> tuple[type[InvalidAddress], tuple[str]]:
        # The default pickling would call __init__ with the message as code.
        return (type(self), (self.code,))


def normalize_address(raw: str) -> str:
    """Return the canonical form of ``raw`` or raise :class:`InvalidAddress`.

    This is the one normalisation used for storage, the look-up hash and
    comparison.  The canonical form keeps the local part's case (RFC 5321 lets
    it be case-sensitive) and stores the domain lower-cased in its ASCII
    (``xn--``) form, so ``user@例え.jp`` and ``user@XN--R8JZ45G.JP`` match.
    """
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidAddress("too_long")
    # NFKC turns full-width IME input (ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ) and
    # U+3000 into ASCII; str.strip() then drops surrounding whitespace.
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise InvalidAddress("empty")
    _refuse_categories(text, _CONTROL_CATEGORIES)
    local, domain = _split(text)
    _refuse_categories(text, _SPACE_CATEGORIES)
    domain = _normalize_domain(domain)
    _check_local_part(local, legacy=is_legacy_carrier_domain(domain))
    address = f"{local}@{domain}"
    if len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress("too_long")
    return address


def is_legacy_carrier_domain(domain: str) -> bool:
    """Tell whether ``domain`` (canonical: lower-case ASCII) gets lenient local-part rules."""
    if domain in LEGACY_CARRIER_DOMAINS:
        return True
    return any(domain.endswith("." + parent) for parent in _LEGACY_CARRIER_PARENTS)


def _refuse_categories(text: str, categories: frozenset[str]) -> None:
    """Raise ``control_chars`` if any character of ``text`` is in ``categories``."""
    if any(unicodedata.category(char) in categories for char in text):
        raise InvalidAddress("control_chars")


def _split(text: str) -> tuple[str, str]:
    """Split on the last ``@`` and refuse the forms we deliberately do not support."""
    local, at, domain = text.rpartition("@")
    if not at:
        raise InvalidAddress("no_at")
    # A quoted local part may legally contain "@", spaces and more; no carrier
    # or subscriber needs that, and supporting it would widen the attack surface.
    if local.startswith('"'):
        raise InvalidAddress("quoted")
    # Mail to a bare IP address is never a resident's mailbox.
    if domain.startswith("["):
        raise InvalidAddress("ip_literal")
    return local, domain


def _normalize_domain(domain: str) -> str:
    """Return the lower-case ASCII (punycode) form of ``domain`` or raise ``domain``."""
    domain = domain.replace(_IDEOGRAPHIC_FULL_STOP, ".")
    if domain.endswith("."):  # the root dot, as in "example.jp."
        domain = domain[:-1]
    labels = [_label_to_ascii(label) for label in domain.split(".")]
    ascii_labels = [label for label in labels if label is not None]
    if len(ascii_labels) != len(labels) or len(ascii_labels) < 2:
        raise InvalidAddress("domain")
    if ascii_labels[-1].isdigit():  # "a@b.123" is an IPv4 address in disguise
        raise InvalidAddress("domain")
    result = ".".join(ascii_labels)
    if len(result) > MAX_DOMAIN_LENGTH:
        raise InvalidAddress("domain")
    return result


def _label_to_ascii(label: str) -> str | None:
    """Return one label as lower-case LDH ASCII, or ``None`` if it is not valid.

    Returning ``None`` instead of raising keeps the UnicodeError (whose message
    may quote the label) out of the chained context of InvalidAddress.
    """
    if not label or len(label) > MAX_DOMAIN_LENGTH:  # too long whatever IDNA does
        return None
    try:
        # IDNA 2003 ToASCII: nameprep (case fold, NFKC) then punycode.
        encoded = label.encode("idna").decode("ascii").lower()
        if encoded.startswith("xn--"):
            # Refuse ACE labels that are not valid punycode (or do not round-trip).
            encoded.encode("ascii").decode("idna")
    except UnicodeError:
        return None
    # The codec does not apply the STD3 host-name rules, so check LDH ourselves.
    return encoded if _LABEL_RE.fullmatch(encoded) else None


def _check_local_part(local: str, *, legacy: bool) -> None:
    """Raise ``local_part`` unless ``local`` is acceptable for its domain.

    Non-ASCII (SMTPUTF8, RFC 6531) local parts are refused: carrier mail
    systems and most relays cannot deliver to them, so accepting one would
    only create a subscriber who never receives an alert.
    """
    if not local.isascii() or not _LOCAL_PART_RE.fullmatch(local):
        raise InvalidAddress("local_part")
    if len(local.encode("ascii")) > MAX_LOCAL_PART_OCTETS:
        raise InvalidAddress("local_part")
    if legacy:
        # Carrier addresses may have any dots, but not only dots.
        valid = bool(local.strip("."))
    else:
        valid = not (local.startswith(".") or local.endswith(".") or ".." in local)
    if not valid:
        raise InvalidAddress("local_part")
