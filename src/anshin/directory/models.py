"""Staff members (職員) and the record of each directory import.

Contact data — name, e-mail address, phone number — is encrypted at rest like a resident's
address. The attribute columns (department, position, team, area, on-call group, and whatever
further columns a city adds, in ``extra``) describe a post, not a person's contact details, and
are kept as plain text so that call-outs can target them with ordinary queries.

Why the address is unique only among *active* members: a member who left stays in the table
(deactivated, for the audit trail and roll-call history), and cities hand a leaver's mailbox or
a shared post address on to a successor. Two active members may never share an address: a
call-out and its replies are per person. The e-mail hash is domain-separated from the
residents' (:func:`staff_email_hash`), so a staff member's address cannot be matched to a
resident subscription by comparing hashes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anshin.core import crypto
from anshin.core.models import AuditEvent

NAME_CONTEXT = b"directory.staffmember.name"
EMAIL_CONTEXT = b"directory.staffmember.email"
PHONE_CONTEXT = b"directory.staffmember.phone"

#: Attribute columns kept as plain text, in the order of the CSV export.
ATTRIBUTE_FIELDS = ("department", "position", "team", "area", "oncall_group")
ATTRIBUTE_MAX = 100
STAFF_ID_MAX = 32


def staff_email_hash(normalized_address: str) -> str:
    """The look-up hash of an address already passed through ``normalize_address``."""
    return crypto.lookup_hash("directory:" + normalized_address)


class StaffMember(models.Model):
    staff_id = models.CharField(
        _("staff number"), max_length=STAFF_ID_MAX, null=True, blank=True, unique=True
    )
    name_ciphertext = models.BinaryField()
    email_ciphertext = models.BinaryField()
    email_hash = models.CharField(max_length=64)
    phone_ciphertext = models.BinaryField(null=True, blank=True)  # E.164, or no phone
    department = models.CharField(_("department"), max_length=ATTRIBUTE_MAX, blank=True)
    position = models.CharField(_("position"), max_length=ATTRIBUTE_MAX, blank=True)
    team = models.CharField(_("team"), max_length=ATTRIBUTE_MAX, blank=True)
    area = models.CharField(_("area of residence"), max_length=ATTRIBUTE_MAX, blank=True)
    oncall_group = models.CharField(_("on-call group"), max_length=ATTRIBUTE_MAX, blank=True)
    extra = models.JSONField(default=dict, blank=True)  # further columns: header -> value
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["email_hash"],
                condition=models.Q(active=True),
                name="directory_staff_email_unique_active",
            )
        ]
        indexes = [models.Index(fields=["email_hash"]), models.Index(fields=["active", "id"])]
        permissions = [
            ("import_staffmember", "Can import the staff directory from CSV"),
            ("export_staffmember", "Can export the staff directory to CSV"),
        ]

    def __str__(self) -> str:
        return f"staff member #{self.pk}"

    @property
    def name(self) -> str:
        return crypto.decrypt(bytes(self.name_ciphertext), context=NAME_CONTEXT)

    @property
    def email(self) -> str:
        """The decrypted address: for sending and the (logged) reveal only."""
        return crypto.decrypt(bytes(self.email_ciphertext), context=EMAIL_CONTEXT)

    @property
    def phone(self) -> str:
        """E.164 (``+819012345678``), or "" when there is none."""
        if self.phone_ciphertext is None:
            return ""
        return crypto.decrypt(bytes(self.phone_ciphertext), context=PHONE_CONTEXT)


class DirectoryImport(models.Model):
    """One applied import: who, when, which file (its SHA-256) and what it changed."""

    at = models.DateTimeField(auto_now_add=True)
    actor_kind = models.CharField(max_length=16, choices=AuditEvent.ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    file_sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=16)
    key = models.CharField(max_length=16)  # "staff_id" or "email": how rows were matched
    deactivate_missing = models.BooleanField(default=False)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"directory import #{self.pk}"


from anshin.directory.models_callout import (  # noqa: E402, F401
    Callout,
    CalloutRecipient,
    CalloutReminder,
    CalloutSend,
)
