"""Takedown of personal details (個人情報の削除) from a published alert.

When a missing person is found, or an alert named someone it should not have, staff replace
the alert's text with a corrected one. The alert is changed in place, so every public copy
that is built from it follows at once: the archive page, the Atom and RSS feeds, the CAP
message and the CAP index. The social posts' stored text is rewritten too (a post still
waiting goes out corrected); posts already out cannot be deleted through Apprise, so each one
is listed for staff to delete on the network by hand and tick off.

What is not touched here: the mail residents already received, backups taken before the
takedown (they expire after ANSHIN_BACKUP_RETENTION_DAYS), and received mail (IntakeDraft)
the alert was drafted from, which the retention rules delete.
"""

from __future__ import annotations

import hashlib
import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.alerts.models import Alert
from anshin.alerts.services import clean_body, clean_english, clean_subject
from anshin.channels.models import Post
from anshin.channels.services import alert_link, text_for
from anshin.core.audit import Actor, audit_record
from anshin.governance.models import TAKEDOWN_REASON_MAX, Takedown, TakedownPost

PERMISSION = "governance.add_takedown"
FIELDS = ("subject", "body", "subject_en", "body_en")
#: Posts that may be on the network already: posted, or being posted at this moment.
OUT = (Post.State.POSTED, Post.State.POSTING)


def text_sha256(text: str) -> str:
    """What the record keeps of a removed text: anyone holding a copy can check it matches."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_reason(reason: str) -> str:
    reason = reason.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the takedown."), code="required")
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in reason):
        raise ValidationError(_("The reason contains control characters."), code="control")
    if len(reason) > TAKEDOWN_REASON_MAX:
        raise ValidationError(
            _("The reason is too long (at most %(max)d characters).")
            % {"max": TAKEDOWN_REASON_MAX},
            code="max_length",
        )
    return reason


def _check_permission(actor: Actor) -> None:
    """The view checks too; the service refuses on its own so no other entry point can skip
    it. The operator at the command line (no user) may act."""
    if actor.user is not None and not actor.user.has_perm(PERMISSION):
        raise PermissionDenied


def alert_takedown(
    *,
    actor: Actor,
    alert: Alert,
    subject: str,
    body: str,
    reason: str,
    subject_en: str = "",
    body_en: str = "",
) -> Takedown:
    """Replace the text of a published alert with the corrected one and record the takedown:
    which fields changed and the SHA-256 of each removed text (never the text itself).

    Refused for an alert that was not published and when nothing would change."""
    _check_permission(actor)
    new = dict(
        zip(
            FIELDS,
            (clean_subject(subject), clean_body(body), *clean_english(subject_en, body_en)),
            strict=True,
        )
    )
    reason = clean_reason(reason)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.published_at is None:
            raise ValidationError(
                _("Only a published alert can be taken down."), code="unpublished"
            )
        changed = [name for name in FIELDS if getattr(locked, name) != new[name]]
        if not changed:
            raise ValidationError(
                _("Nothing was changed: edit the text to remove the personal details."),
                code="unchanged",
            )
        takedown = Takedown.objects.create(
            alert=locked,
            created_by=actor.user,
            created_at=timezone.now(),
            reason=reason,
            fields=changed,
            original_sha256={name: text_sha256(getattr(locked, name)) for name in changed},
        )
        Alert.objects.filter(pk=locked.pk).update(**{name: new[name] for name in changed})
        for name in changed:
            setattr(locked, name, new[name])
        out = _redact_posts(locked, takedown)
        details = {"alert": locked.pk, "fields": changed, "posts_out": out}
        audit_record(actor=actor, action="alert.takedown", target=takedown, details=details)
        transaction.on_commit(_checkpoint_sqlite)
    alert.refresh_from_db()
    return takedown


def _redact_posts(alert: Alert, takedown: Takedown) -> list[int]:
    """Rewrite every post's stored text from the corrected alert, then list those that may
    already be on the network (unless staff already deleted them after an earlier takedown).
    The text is rewritten first, so a worker that claims a post from now on posts the
    corrected text, and one that claimed it before shows here as posting."""
    link = alert_link(alert.pk)
    posts = list(Post.objects.filter(alert=alert).select_related("channel").order_by("pk"))
    for post in posts:
        Post.objects.filter(pk=post.pk).update(text=text_for(alert, post.channel.kind, link=link))
    removed = TakedownPost.objects.filter(
        takedown__alert=alert, removed_at__isnull=False
    ).values_list("post_id", flat=True)
    out = Post.objects.filter(alert=alert, state__in=OUT).exclude(pk__in=list(removed))
    ids = list(out.order_by("pk").values_list("pk", flat=True))
    TakedownPost.objects.bulk_create([TakedownPost(takedown=takedown, post_id=pk) for pk in ids])
    return ids


def _checkpoint_sqlite() -> None:
    """SQLite keeps the page images an update replaced in its write-ahead log until a
    checkpoint; checkpoint now (and empty the log) so the removed text does not linger in the
    files. PostgreSQL's old row versions are never in a dump and are reclaimed by vacuum."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def takedown_post_removed(*, actor: Actor, item: TakedownPost) -> bool:
    """Record that staff deleted this post on its network by hand. False if it was already
    recorded (a second click, or two people at once). Audited."""
    _check_permission(actor)
    with transaction.atomic():
        updated = TakedownPost.objects.filter(pk=item.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=actor.user
        )
        if not updated:
            return False
        details = {"post": item.post_id, "alert": item.takedown.alert_id}
        audit_record(
            actor=actor, action="alert.takedown_post_removed", target=item.takedown, details=details
        )
    item.refresh_from_db()
    return True
