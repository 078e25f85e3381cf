"""Test addresses (canaries, P6): kept, mailed and confirmed.

Every alert's real send also goes to each canary (round 0, queued by the fan-out), and a
test send goes to the canaries only (rounds 1, 2, …). Canary mail goes through the delivery
engine's own machinery (claim with a lease, relay slots, retries with backoff, outcomes
written only to rows still held) on its own rows, so the residents' counts never include it.
Each canary mail carries a confirm link: a page whose button records that the mail reached
the phone (the relay's 250 says only that the relay took it).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.alerts.models import Alert
from anshin.core import crypto
from anshin.core.addresses import InvalidAddress, normalize_address
from anshin.core.audit import RECIPIENT, Actor, audit_record
from anshin.core.masking import mask_email
from anshin.delivery import canary_tasks, render
from anshin.delivery.models import SendState
from anshin.delivery.models_canary import CANARY_CONTEXT, LABEL_MAX, Canary, CanaryMessage
from anshin.delivery.sending import (
    ClaimedRow,
    SendLimits,
    claim_due,
    drop_stopped_and_expired_rows,
    retry_horizon,
    send_claimed,
)

_CONFIRM_SALT = "anshin.delivery.canary-confirm"

# The mail is Japanese, like every alert mail (see anshin.delivery.render).
_BANNER_TEST = (
    "【テスト送信】確認用アドレスだけに送ったテストです。住民にはまだ送っていません。\n"
    "届いたら、次のリンクを開いて「届きました」を押してください。\n{url}\n"
    "――――――――――――――――\n\n"
)
_BANNER_LIVE = (
    "【確認用アドレス】住民への配信と同じ内容を確認用アドレスにも送っています。\n"
    "届いたら、次のリンクを開いて「届きました」を押してください。\n{url}\n"
    "――――――――――――――――\n\n"
)
_NO_MANAGE_LINK = "（確認用アドレスには配信停止のリンクはありません）"


# --- The list of canaries (console, administrators) -----------------------------------------


def active_canaries() -> QuerySet[Canary]:
    return Canary.objects.filter(removed_at__isnull=True).order_by("pk")


def canary_add(*, actor: Actor, address: str, label: str = "") -> Canary:
    """Register a test address (encrypted, with its look-up hash and masked form). Audited
    by id; the address appears nowhere but in its encrypted column."""
    try:
        normalised = normalize_address(address)
    except InvalidAddress as exc:
        raise ValidationError(str(exc), code=exc.code) from None
    label = " ".join(label.split())
    if len(label) > LABEL_MAX:
        raise ValidationError(
            _("The label is too long (at most %(max)d characters).") % {"max": LABEL_MAX},
            code="max_length",
        )
    try:
        with transaction.atomic():
            canary = Canary.objects.create(
                email_ciphertext=crypto.encrypt(normalised, context=CANARY_CONTEXT),
                email_hash=crypto.lookup_hash(normalised),
                email_masked=mask_email(normalised),
                label=label,
                created_by=actor.user,
            )
            audit_record(actor=actor, action="canary.add", target=canary)
    except IntegrityError:
        raise ValidationError(
            _("This address is already a test address."), code="duplicate"
        ) from None
    return canary


def canary_remove(*, actor: Actor, canary: Canary) -> bool:
    """Remove a test address: its address is erased at once, its mail not yet sent is
    stopped; the row stays for the record of past sends. False if it was already removed."""
    now = timezone.now()
    with transaction.atomic():
        removed = Canary.objects.filter(pk=canary.pk, removed_at__isnull=True).update(
            removed_at=now, removed_by=actor.user, email_ciphertext=b""
        )
        if not removed:
            return False
        CanaryMessage.objects.filter(canary=canary, state=SendState.QUEUED).update(
            state=SendState.STOPPED, finished_at=now, claim="", leased_until=None
        )
        audit_record(actor=actor, action="canary.remove", target=canary)
    return True


# --- Queueing and sending ---------------------------------------------------------------------


def next_test_round(*, alert: Alert) -> int:
    last = CanaryMessage.objects.filter(alert=alert).aggregate(n=models.Max("round"))["n"]
    return (last or 0) + 1


def canaries_queue(*, alert: Alert, round: int) -> int:
    """One row per active canary for this alert and round (inside the caller's transaction;
    a re-run adds only what is missing), sent after commit. Returns the round's rows."""
    now = timezone.now()
    CanaryMessage.objects.bulk_create(
        [
            CanaryMessage(alert=alert, canary=canary, round=round, enqueued_at=now)
            for canary in active_canaries()
        ],
        ignore_conflicts=True,
    )
    count = CanaryMessage.objects.filter(alert=alert, round=round).count()
    if count:
        transaction.on_commit(lambda: canary_tasks.send_canaries.delay(alert.pk))
    return count


def canary_send(*, alert_id: int) -> None:
    """Claim the alert's due canary rows and send them over one connection."""
    alert = Alert.objects.select_related("category").get(pk=alert_id)
    rows = CanaryMessage.objects.filter(alert_id=alert_id)
    if drop_unwanted(rows, now=timezone.now()):
        return
    claim = claim_due(rows.filter(canary__removed_at__isnull=True))
    fields = ("pk", "attempts", "round", "created_at", "canary__email_ciphertext")
    claimed = [
        ClaimedRow(pk, claim, attempts, rnd, bytes(cipher), context=CANARY_CONTEXT)
        for pk, attempts, rnd, _created, cipher in CanaryMessage.objects.filter(claim=claim)
        .order_by("pk")
        .values_list(*fields)
    ]
    if not claimed:
        return
    first = CanaryMessage.objects.filter(claim=claim).aggregate(at=models.Min("created_at"))
    prepared = render.prepare_alert(alert)
    send_claimed(
        CanaryMessage,
        claimed,
        lambda row, address: render_canary(prepared, pk=row.pk, round=row.owner, address=address),
        limits=SendLimits(horizon=first["at"] + retry_horizon(), expiry=alert.expires_at),
    )


def drop_unwanted(rows: QuerySet[CanaryMessage], *, now: object) -> int:
    """Waiting canary rows of a stopped alert are stopped, of an expired one expired (never
    sent late), as the residents' are."""
    return drop_stopped_and_expired_rows(rows, alert="alert", now=now)


def render_canary(prepared: render.PreparedAlert, *, pk: int, round: int, address: str) -> bytes:
    """The alert's mail as residents get it (the same headers and text), with a note at the
    top saying it went to a test address and the confirm link, and no unsubscribe link."""
    banner = (_BANNER_TEST if round else _BANNER_LIVE).format(url=confirm_url(pk))
    text = banner + prepared.text_before + _NO_MANAGE_LINK + prepared.text_after
    return render.assemble(prepared, text=text, address=address)


# --- The confirm link ---------------------------------------------------------------------------


class CanaryTokenError(Exception):
    """The confirm link is altered or unknown."""


def make_confirm_token(pk: int) -> str:
    """The row id, signed: no address, and not guessable for another row."""
    return signing.Signer(salt=_CONFIRM_SALT).sign_object([pk])


def confirm_url(pk: int) -> str:
    return settings.BASE_URL + reverse("console:canary_confirm", args=[make_confirm_token(pk)])


def canary_message_for_token(token: str) -> CanaryMessage:
    """The canary mail a confirm link is for, or CanaryTokenError."""
    if len(token) > 200:
        raise CanaryTokenError
    try:
        value = signing.Signer(salt=_CONFIRM_SALT).unsign_object(token)
    except signing.BadSignature as exc:
        raise CanaryTokenError from exc
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], int)):
        raise CanaryTokenError
    found = CanaryMessage.objects.select_related("alert").filter(pk=value[0]).first()
    if found is None:
        raise CanaryTokenError
    return found


def canary_confirm(*, token: str) -> CanaryMessage:
    """The person holding the test phone says the mail arrived. Once per mail (a second tap
    changes nothing); audited as done by the recipient."""
    row = canary_message_for_token(token)
    with transaction.atomic():
        if CanaryMessage.objects.filter(pk=row.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        ):
            audit_record(
                actor=RECIPIENT,
                action="canary.confirm",
                target=row,
                details={"alert": row.alert_id, "round": row.round},
            )
    row.refresh_from_db()
    return row


# --- Reads for the console --------------------------------------------------------------------


def alert_canary_rows(alert: Alert) -> list[CanaryMessage]:
    """The alert's canary mail, newest round first; the masked address comes with each."""
    return list(
        CanaryMessage.objects.filter(alert=alert)
        .select_related("canary")
        .order_by("-round", "canary_id")
    )


def canaries_settled(alert: Alert, rows: list[CanaryMessage]) -> bool:
    """Nothing more will change on the page: every mail confirmed or finished unsent, and no
    row still to come (a just-published alert's fan-out adds them)."""
    from anshin.delivery.models import Delivery

    unsent = (SendState.FAILED, SendState.STOPPED, SendState.EXPIRED)
    if not all(row.confirmed_at is not None or row.state in unsent for row in rows):
        return False
    coming = Delivery.objects.filter(alert=alert, fanned_out_at__isnull=True).exists()
    return not (coming and active_canaries().exists())
