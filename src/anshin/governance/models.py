"""Retention runs and the deletion certificates (削除証明書) they issue (P1)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PurgeRun(models.Model):
    """One purge. A scheduled run is unique per day (Asia/Tokyo), so two schedulers start it
    once; its lease lets a run that died half-way be resumed by the next tick."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Nightly schedule")
        OPERATOR = "operator", _("Operator (command line)")

    day = models.DateField(null=True, blank=True, unique=True)  # scheduled runs only
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField()
    leased_until = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"purge run #{self.pk}"


class Certificate(models.Model):
    """What one run deleted of one kind. Counted batch by batch in the transaction that
    deletes (so a crash loses no count), then closed, then issued: signed and rendered."""

    run = models.ForeignKey(PurgeRun, on_delete=models.PROTECT, related_name="certificates")
    kind = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)
    breakdown = models.JSONField(default=dict, blank=True)  # count per table
    records_from = models.DateTimeField(null=True, blank=True)
    records_to = models.DateTimeField(null=True, blank=True)
    cutoff = models.DateTimeField()
    days = models.PositiveIntegerField()
    closed_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    serial = models.CharField(max_length=32, blank=True)
    content = models.JSONField(default=dict, blank=True)  # exactly what was signed
    signature = models.CharField(max_length=128, blank=True)  # base64url Ed25519
    pdf = models.BinaryField(blank=True, default=b"")
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "kind"], name="one_certificate_per_run_kind")
        ]

    def __str__(self) -> str:
        return f"certificate {self.serial or self.pk} ({self.kind})"

    @property
    def kind_label(self) -> str:
        from anshin.governance.retention import kind_named

        return str(kind_named(self.kind).label)


# --- Registers: disclosures (P3), incidents (S12), council reports ---------------------------


class Disclosure(models.Model):
    """One provision of personal data to a third party (外部提供, P3): requested by one member
    of staff, approved by another, handed over as an encrypted file, each step recorded.

    The address the request names is never stored: only its keyed hash (the look-up key
    the residents' table uses) and the subscriber row it matched, by id."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Waiting for approval")
        REJECTED = "rejected", _("Rejected")
        APPROVED = "approved", _("Approved; file ready")
        PROVIDED = "provided", _("Handed over")

    class DataKind(models.TextChoices):
        SUBSCRIPTION = "subscription", _("The subscription record of one e-mail address")

    purpose = models.TextField(_("purpose"), max_length=2000)
    recipient = models.CharField(_("recipient"), max_length=200)
    legal_basis = models.CharField(_("legal basis"), max_length=200)
    reference = models.CharField(_("document number"), max_length=100, blank=True)
    data_kind = models.CharField(_("data"), max_length=32, choices=DataKind.choices)
    subject_hash = models.CharField(max_length=64)
    subscriber = models.ForeignKey(
        "residents.Subscriber", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    records = models.PositiveIntegerField(default=0)  # records in the file
    sealed = models.BinaryField(blank=True, default=b"")  # erased once handed over
    sealed_sha256 = models.CharField(max_length=64, blank=True)
    provided_on = models.DateField(null=True, blank=True)
    provided_method = models.CharField(max_length=200, blank=True)
    provided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [("approve_disclosure", "Can approve a disclosure to a third party")]
        constraints = [
            # Two people, always: the database refuses a self-approval whatever the code does.
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("requested_by")),
                name="disclosure_not_decided_by_requester",
            )
        ]

    def __str__(self) -> str:
        return f"disclosure #{self.pk}"


class Incident(models.Model):
    """A near-miss (ヒヤリハット) or an incident involving personal data (S12)."""

    class Kind(models.TextChoices):
        NEAR_MISS = "near_miss", _("Near-miss")
        INCIDENT = "incident", _("Incident (leak, loss or damage)")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("what happened"), max_length=5000)
    occurred_at = models.DateTimeField(_("when it happened"), null=True, blank=True)
    found_at = models.DateTimeField(_("when it was found"))
    affected = models.PositiveIntegerField(_("persons affected"), default=0)
    malicious = models.BooleanField(_("for a wrongful purpose (不正の目的)"), default=False)
    cause = models.TextField(_("cause"), max_length=5000, blank=True)
    measures = models.TextField(_("measures"), max_length=5000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    prompt_reported_on = models.DateField(null=True, blank=True)
    final_reported_on = models.DateField(null=True, blank=True)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    review_flagged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-found_at", "-pk"]
        indexes = [models.Index(fields=["closed_at", "review_flagged_at"])]

    def __str__(self) -> str:
        return f"incident #{self.pk}"


class CouncilReport(models.Model):
    """One issued council report (審議会報告): the PDF exactly as handed to the council."""

    period_start = models.DateField()
    period_end = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    chain_seq = models.PositiveBigIntegerField(default=0)
    chain_head = models.CharField(max_length=64)
    chain_ok = models.BooleanField()
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"council report #{self.pk}"


# --- Takedown of personal details (個人情報の削除) ----------------------------------------------

TAKEDOWN_REASON_MAX = 500


class Takedown(models.Model):
    """Personal details removed from a published alert, for example once a missing person is
    found. The alert's text is replaced in place (archive, feeds and CAP read it from there);
    this row records who, when, why and which fields, and the SHA-256 of each removed text so
    that an auditor holding a copy can prove what was removed. The removed text itself is
    never kept."""

    alert = models.ForeignKey("alerts.Alert", on_delete=models.PROTECT, related_name="takedowns")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    reason = models.TextField(_("reason"), max_length=TAKEDOWN_REASON_MAX)
    fields = models.JSONField(default=list)  # names of the Alert fields replaced
    original_sha256 = models.JSONField(default=dict)  # field -> SHA-256 (hex) of the removed text

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("takedown of personal details")
        verbose_name_plural = _("takedowns of personal details")

    def __str__(self) -> str:
        return f"takedown #{self.pk}"


class TakedownPost(models.Model):
    """A social post that was already out when its alert was taken down. Apprise cannot delete
    posts: staff delete it on the network by hand and record here that they did."""

    takedown = models.ForeignKey(Takedown, on_delete=models.CASCADE, related_name="posts")
    post = models.ForeignKey("channels.Post", on_delete=models.CASCADE, related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["takedown_id", "post_id"]
        constraints = [
            models.UniqueConstraint(fields=["takedown", "post"], name="takedown_post_once")
        ]

    def __str__(self) -> str:
        return f"takedown #{self.takedown_id} post {self.post_id}"


# --- Reveals of a full address (P2) -----------------------------------------------------------

REVEAL_NOTE_MAX = 500


class AddressReveal(models.Model):
    """One look at a resident's full address (P2: not looked at in normal times): who, when,
    which subscriber and the reason given. The address itself is never stored; the note is
    kept here, not in the audit log (whose details carry ids and the reason code only)."""

    class Reason(models.TextChoices):
        INQUIRY = "inquiry", _("Answering an inquiry")
        UNDELIVERABLE = "undeliverable", _("Investigating undeliverable mail")
        DISCLOSURE = "disclosure", _("Responding to a disclosure request")
        OTHER = "other", _("Other")

    subscriber_ref = models.BigIntegerField()  # an id, kept when the subscriber row is gone
    revealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    revealed_at = models.DateTimeField(db_index=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=REVEAL_NOTE_MAX)

    class Meta:
        ordering = ["-revealed_at", "-pk"]
        permissions = [("reveal_address", "Can see a resident's full address, stating a reason")]

    def __str__(self) -> str:
        return f"address reveal #{self.pk}"
