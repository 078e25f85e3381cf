"""Staff access to a resident's own data (P2: recorded data is not looked at in normal times,
only when something needs it).

Lists and pages show an address masked (anshin.core.masking). Two things go further, and both
are recorded: looking a registration up by its exact address (which tells the clerk that this
address is registered), and revealing the full address, which takes a stated reason. The
reason code goes into the audit log; the free-text note into the register of reveals
(:class:`AddressReveal`), never into the audit log, whose entries cannot be edited and are kept
for years: a note may name the caller, an address may not appear in it at all.

Each service checks the actor's permission itself (the views check too).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anshin.core import crypto
from anshin.core.addresses import normalize_address
from anshin.core.audit import Actor, audit_record
from anshin.governance.disclosures import require
from anshin.governance.models import REVEAL_NOTE_MAX, AddressReveal
from anshin.residents.models import Subscriber

VIEW = "residents.view_subscriber"
REVEAL = "governance.reveal_address"
REGISTER = "governance.view_addressreveal"
REVEALED = "subscriber.address_revealed"
LOOKED_UP = "subscriber.looked_up"

NOTE_MIN: Final = 5
NOTE_MAX: Final = REVEAL_NOTE_MAX
#: A mailbox name shorter than this is too common a string to refuse in a note ("info").
LOCAL_PART_MIN: Final = 4
_CONTROL: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_AT: Final = re.compile(r"@")

PROBLEMS: Final[dict[str, Promise]] = {
    "bad_reason": _("Choose a reason from the list."),
    "too_short": _("Write at least %(n)d characters on why the address is needed."),
    "too_long": _("Write at most %(n)d characters."),
    "control_chars": _("The note contains line breaks or control characters; write one line."),
    "names_address": _(
        "Do not write an e-mail address (or a part of this one) in the note: the register of "
        "reveals must not hold the address it protects."
    ),
    "erased": _("This address was erased after its retention period; only its keyed code is kept."),
    "undecryptable": _("The address cannot be decrypted with the configured data key."),
}
_LIMITS: Final = {"too_short": NOTE_MIN, "too_long": NOTE_MAX}


def problem_message(code: str) -> str:
    """The sentence for a problem code, in the active language."""
    text = str(PROBLEMS[code])
    return text % {"n": _LIMITS[code]} if code in _LIMITS else text


class RevealRefused(ValueError):
    """A reveal that cannot be done as asked; ``message`` is shown as is (no personal data)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return problem_message(self.code)


@dataclass(frozen=True)
class Revealed:
    address: str
    record: AddressReveal


def note_problem(note: str) -> str | None:
    """What is wrong with a note before the address is known (for the form), or None."""
    if len(note) > NOTE_MAX:
        return "too_long"
    if any(unicodedata.category(char) in _CONTROL for char in note):
        return "control_chars"
    if len(note.strip()) < NOTE_MIN:
        return "too_short"
    if _AT.search(unicodedata.normalize("NFKC", note)):  # also a full-width ＠
        return "names_address"
    return None


def _names(note: str, address: str) -> bool:
    """The note holds the address or its mailbox name (NFKC, case-insensitive)."""
    text = unicodedata.normalize("NFKC", note).casefold()
    local = address.rpartition("@")[0].casefold()
    return address.casefold() in text or (len(local) >= LOCAL_PART_MIN and local in text)


def address_reveal(*, actor: Actor, subscriber: Subscriber, reason: str, note: str) -> Revealed:
    """The full address of one subscriber, for the one response that shows it. Recorded in
    the register (with the note) and in the audit log (reason code and ids), together."""
    user = require(actor, REVEAL)
    note = note.strip()
    if reason not in AddressReveal.Reason.values:
        raise RevealRefused("bad_reason")
    problem = note_problem(note)
    if problem is not None:
        raise RevealRefused(problem)
    if not subscriber.email_ciphertext:
        raise RevealRefused("erased")
    try:
        address = subscriber.email
    except crypto.DecryptionError:
        raise RevealRefused("undecryptable") from None
    if _names(note, address):
        raise RevealRefused("names_address")
    with transaction.atomic():
        record = AddressReveal.objects.create(
            subscriber_ref=subscriber.pk,
            revealed_by=user,
            revealed_at=timezone.now(),
            reason=reason,
            note=note,
        )
        audit_record(
            actor=actor,
            action=REVEALED,
            target=subscriber,
            details={"reason": reason, "reveal": record.pk},
        )
    return Revealed(address=address, record=record)


def subscriber_look_up(*, actor: Actor, address: str) -> Subscriber | None:
    """The registration of an exact address, found by its keyed hash (never by a search of
    the plaintext, which is encrypted). Raises InvalidAddress for what is not an address.
    Recorded whether or not one is found: the answer itself tells who is registered."""
    require(actor, VIEW)
    address_hash = crypto.lookup_hash(normalize_address(address))
    subscriber = Subscriber.objects.filter(email_hash=address_hash).first()
    audit_record(
        actor=actor,
        action=LOOKED_UP,
        target=subscriber,
        details={"found": subscriber is not None},
    )
    return subscriber


def reveal_register() -> QuerySet[AddressReveal]:
    return AddressReveal.objects.select_related("revealed_by").order_by("-revealed_at", "-pk")
