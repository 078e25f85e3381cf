"""Masked forms of personal data for lists and pages (P2: not looked at in normal times).

Enough to tell rows apart at a glance and to confirm a caller's address with them, never enough
to read it: ``taro@city.anshin.lg.jp`` → ``t***@a***.lg.jp``, ``+819012345678`` →
``090-****-5678``, ``山田太郎`` → ``山***``. A full value is shown only by a reveal that states
its reason and is recorded (anshin.governance.reveals).
"""

from __future__ import annotations

from anshin.directory.phones import national_format

__all__ = ["mask_email", "mask_name", "mask_phone"]


def mask_name(name: str) -> str:
    """山田太郎 → 山***: enough to tell rows apart at a glance, not to read the name."""
    return name[:1] + "***" if name else ""


def mask_email(address: str) -> str:
    """taro@city.anshin.lg.jp → t***@a***.lg.jp: the first letter of the mailbox and of the
    domain's own name, then its public suffix (one label, or two when the last but one is a
    short second-level label such as lg, co or ne)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    labels = domain.split(".")
    suffix_len = 2 if len(labels) >= 3 and len(labels[-2]) <= 3 else 1
    suffix = labels[-suffix_len:] if len(labels) > suffix_len else []
    owner = labels[-suffix_len - 1] if len(labels) > suffix_len else labels[0]
    return f"{local[:1]}***@" + ".".join([owner[:1] + "***", *suffix])


def mask_phone(e164: str) -> str:
    """+819012345678 → 090-****-5678: the area or mobile prefix and the last four digits."""
    if not e164:
        return ""
    try:
        national = national_format(e164)
    except ValueError:
        return "****"
    head, _sep, rest = national.partition("-")
    tail = rest.rpartition("-")[2]
    return f"{head}-****-{tail}"
