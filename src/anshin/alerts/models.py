from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

SUBJECT_MAX = 120
BODY_MAX = 10_000


# The values of the OASIS Common Alerting Protocol 1.2, which other systems (broadcasters,
# L-Alert, apps) read: the stored value is the CAP token itself.
class CapCategory(models.TextChoices):
    GEO = "Geo", _("Geophysical (earthquake, landslide)")
    MET = "Met", _("Meteorological (storm, flood)")
    SAFETY = "Safety", _("General emergency and public safety")
    SECURITY = "Security", _("Law enforcement and security")
    RESCUE = "Rescue", _("Rescue and recovery")
    FIRE = "Fire", _("Fire")
    HEALTH = "Health", _("Medical and public health")
    ENV = "Env", _("Pollution and environment")
    TRANSPORT = "Transport", _("Transport")
    INFRA = "Infra", _("Utilities and infrastructure")
    CBRNE = "CBRNE", _("Chemical, biological, radiological or nuclear")
    OTHER = "Other", _("Other")


class CapStatus(models.TextChoices):
    ACTUAL = "Actual", _("Actual")
    EXERCISE = "Exercise", _("Exercise")
    TEST = "Test", _("Test")


class CapMsgType(models.TextChoices):
    ALERT = "Alert", _("First report")
    UPDATE = "Update", _("Update")
    CANCEL = "Cancel", _("Cancellation")


class CapUrgency(models.TextChoices):
    IMMEDIATE = "Immediate", _("Immediate: act now")
    EXPECTED = "Expected", _("Expected: act soon (within the hour)")
    FUTURE = "Future", _("Future: act in the near future")
    PAST = "Past", _("Past: no longer needed")
    UNKNOWN = "Unknown", _("Unknown")


class CapSeverity(models.TextChoices):
    EXTREME = "Extreme", _("Extreme: threat to life")
    SEVERE = "Severe", _("Severe: significant threat to life or property")
    MODERATE = "Moderate", _("Moderate: possible threat to life or property")
    MINOR = "Minor", _("Minor: little or no threat")
    UNKNOWN = "Unknown", _("Unknown")


class CapCertainty(models.TextChoices):
    OBSERVED = "Observed", _("Observed: it has happened")
    LIKELY = "Likely", _("Likely (more than 50%)")
    POSSIBLE = "Possible", _("Possible (50% or less)")
    UNLIKELY = "Unlikely", _("Unlikely")
    UNKNOWN = "Unknown", _("Unknown")


def validate_cap_categories(value: str) -> None:
    """Category.cap_categories holds one or more CAP category tokens separated by spaces."""
    tokens = value.split()
    if not tokens or any(token not in CapCategory.values for token in tokens):
        raise ValidationError(
            _("Enter CAP categories separated by spaces, from: %(known)s"),
            params={"known": " ".join(CapCategory.values)},
            code="invalid",
        )


class Category(models.Model):
    """A kind of information residents choose on the registration page (S1): 防災, 防犯, …"""

    slug = models.SlugField(unique=True, max_length=32)
    name_ja = models.CharField(max_length=40)
    name_en = models.CharField(max_length=60)
    description_ja = models.CharField(max_length=200, blank=True)
    description_en = models.CharField(max_length=200, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    # After this, an alert's undelivered mail is dropped rather than sent late: an evacuation
    # order that arrives hours after it was lifted does harm.
    expiry_hours = models.PositiveSmallIntegerField(default=24)
    # What compose offers by default for this category's CAP messages; staff may change them
    # per alert. Each alert keeps its own copy, so a later change here never rewrites the CAP
    # of an alert already sent.
    cap_categories = models.CharField(
        max_length=80, default=CapCategory.SAFETY, validators=[validate_cap_categories]
    )
    cap_urgency = models.CharField(
        max_length=16, choices=CapUrgency.choices, default=CapUrgency.EXPECTED
    )
    cap_severity = models.CharField(
        max_length=16, choices=CapSeverity.choices, default=CapSeverity.MODERATE
    )
    cap_certainty = models.CharField(
        max_length=16, choices=CapCertainty.choices, default=CapCertainty.POSSIBLE
    )
    # A second person approves each alert of this category before it goes out: from the
    # console, the command line and the API alike, an alert is first held.
    requires_approval = models.BooleanField(
        default=False,
        help_text=_("Each alert needs a second person's approval before it is sent."),
    )

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ja").startswith("en") else self.name_ja

    @property
    def description(self) -> str:
        return (
            self.description_en
            if (get_language() or "ja").startswith("en")
            else self.description_ja
        )


REASON_MAX = 1000


class Alert(models.Model):
    class Via(models.TextChoices):
        CONSOLE = "console", _("Console")
        CLI = "cli", _("Command line")
        API = "api", _("API")

    class State(models.TextChoices):
        """Only a published alert has `published_at`, and only it is public (archive, feeds,
        CAP, social channels) or mailed to residents."""

        PUBLISHED = "published", pgettext_lazy("alert state", "Published")
        HELD = "held", _("Waiting for approval")
        REJECTED = "rejected", _("Sent back")
        # Made by a test send to the test addresses only; published (or held) later.
        TEST = "test", _("Test send only")

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="alerts")
    subject = models.CharField(max_length=SUBJECT_MAX)
    body = models.TextField(max_length=BODY_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    created_via = models.CharField(max_length=16, choices=Via.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # An English version is optional; when present it becomes CAP's second info block and is
    # shown beside the Japanese on the public page.
    subject_en = models.CharField(max_length=SUBJECT_MAX, blank=True)
    body_en = models.TextField(max_length=BODY_MAX, blank=True)
    status = models.CharField(max_length=16, choices=CapStatus.choices, default=CapStatus.ACTUAL)
    msg_type = models.CharField(max_length=16, choices=CapMsgType.choices, default=CapMsgType.ALERT)
    # An update or cancellation points at the alert it corrects (CAP <references>).
    references = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    cap_categories = models.CharField(max_length=80, default=CapCategory.SAFETY)
    urgency = models.CharField(
        max_length=16, choices=CapUrgency.choices, default=CapUrgency.UNKNOWN
    )
    severity = models.CharField(
        max_length=16, choices=CapSeverity.choices, default=CapSeverity.UNKNOWN
    )
    certainty = models.CharField(
        max_length=16, choices=CapCertainty.choices, default=CapCertainty.UNKNOWN
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PUBLISHED)
    # The second person's decision on a held alert: approved (published) or sent back.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.TextField(max_length=REASON_MAX, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("approve_alert", "Can approve an alert written by someone else")]
        indexes = [models.Index(fields=["state"])]
        constraints = [
            # Two people, always: the database refuses a decision by the alert's own author
            # whatever the code does (an alert from the CLI or the API has no author).
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("created_by")),
                name="alert_not_decided_by_creator",
            )
        ]

    def __str__(self) -> str:
        return self.subject
