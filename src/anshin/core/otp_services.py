"""Writes of the two-factor login: enrolling an authenticator, checking a code, replacing the
backup codes. Each state change a person makes is audited (never with a code or a secret)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from anshin.core import crypto
from anshin.core.audit import Actor, audit_record
from anshin.core.otp import normalise_code

TOTP_NAME = "authenticator"
BACKUP_NAME = "backup codes"
TOTP_DIGITS = 6


@dataclass(frozen=True)
class CodeResult:
    """The outcome of one typed code: the device that accepted it, or why none did."""

    device: Device | None = None
    throttled: bool = False
    backup_codes_left: int | None = None  # set when a backup code was used


def totp_pending(*, user: User) -> TOTPDevice:
    """The authenticator being set up: the same secret on every reload until confirmed, so a
    QR code scanned before a reload still works."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def totp_enrol_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the authenticator with its first code; returns the new backup codes (to show
    once), or None if the code is wrong or the device is not this user's pending one."""
    code = normalise_code(code)
    if not _is_totp_shaped(code):
        return None
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().filter(
            pk=device.pk, user=user, confirmed=False
        )
        pending = locked.first()
        if pending is None or not pending.verify_token(code):
            return None
        pending.confirmed = True
        pending.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=pending.pk).delete()
        codes = _replace_backup_codes(user)
        audit_record(actor=Actor.staff(user), action="staff.otp_enrolled", target=user)
    return codes


def code_check(*, user: User, code: str) -> CodeResult:
    """A six-digit code goes to the authenticator, anything else to the backup codes, so a
    mistyped backup code does not slow down the next authenticator code (and vice versa)."""
    code = normalise_code(code)
    if _is_totp_shaped(code):
        return _check(TOTPDevice, user, code)
    if not code or len(code) > 16:
        return CodeResult()
    result = _check(StaticDevice, user, stored_backup_code(code))
    if result.device is not None:
        left = StaticToken.objects.filter(device=result.device).count()
        audit_record(
            actor=Actor.staff(user),
            action="staff.backup_code_used",
            target=user,
            details={"left": left},
        )
        return CodeResult(device=result.device, backup_codes_left=left)
    return result


def _check(model: type[TOTPDevice] | type[StaticDevice], user: User, code: str) -> CodeResult:
    with transaction.atomic():
        devices = model.objects.select_for_update().filter(user=user, confirmed=True)
        throttled = False
        for device in devices.order_by("pk"):
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                throttled = True
            elif device.verify_token(code):
                return CodeResult(device=device)
    return CodeResult(throttled=throttled)


def staff_sign_in(*, user: User, device: Device) -> None:
    """Record a completed sign-in (the password, then this second factor) by account id only:
    no address and no browser, which "who used the console, and when" does not need. This is
    why django-axes keeps no log of its own of successful sign-ins (AXES_DISABLE_ACCESS_LOG)."""
    factor = "backup_code" if isinstance(device, StaticDevice) else "totp"
    audit_record(
        actor=Actor.staff(user), action="staff.sign_in", target=user, details={"factor": factor}
    )


def backup_codes_replace(*, user: User, actor: Actor) -> list[str]:
    """New backup codes for a staff member; the old ones stop working at once."""
    with transaction.atomic():
        codes = _replace_backup_codes(user)
        audit_record(actor=actor, action="staff.backup_codes_replaced", target=user)
    return codes


def _replace_backup_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_NAME, defaults={"confirmed": True}
    )
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=stored_backup_code(c)) for c in codes
    )
    return codes


def stored_backup_code(code: str) -> str:
    """What the database keeps of a backup code: a keyed hash (the look-up key, which is never
    in the database or a backup), cut to the 16 characters django-otp's column holds. A copy
    of the database then holds no usable second factor. django-otp compares the stored string
    only, so the typed code is hashed the same way before it is checked."""
    return crypto.lookup_hash("otp-backup-code:" + code)[:16]


def _is_totp_shaped(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()


def display_code(code: str) -> str:
    """A backup code as shown: two groups of four, easier to copy by hand."""
    return f"{code[:4]}-{code[4:]}"
