"""The VERP return path each message is sent with: the fast base32 of its MAC is the stdlib's,
and every address the sender makes is one the bounce intake accepts."""

from __future__ import annotations

import base64
import os
from typing import Any

from anshin.delivery import verp


def test_the_mac_letters_are_rfc_4648_base32() -> None:
    samples = [bytes(8), b"\xff" * 8, *(os.urandom(8) for _ in range(5000))]
    for eight in samples:
        assert verp._base32(eight) == base64.b32encode(eight).decode().rstrip("=").lower()


def test_every_sender_of_a_batch_parses_back_to_its_row(settings: Any) -> None:
    settings.BOUNCE_DOMAIN = "bounce.city.example.jp"
    sender = verp.verp_sender("m")
    for pk in (1, 42, 10**6, 2**63 - 1):
        address = sender(pk)
        assert address == verp.verp_address("m", pk)
        assert address.endswith("@bounce.city.example.jp") and len(address.split("@")[0]) <= 41
        assert verp.parse_verp(address) == ("m", pk)
