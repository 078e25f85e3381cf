"""The disclosure file: opens with its passphrase only, and any change to it is detected."""

from __future__ import annotations

import re

import pytest

from anshin.governance import sealing


def test_a_sealed_file_opens_with_its_passphrase_typed_any_way() -> None:
    passphrase = sealing.new_passphrase()
    sealed = sealing.seal("登録記録".encode(), passphrase)
    assert sealed.startswith(sealing.HEADER)
    assert "登録記録".encode() not in sealed
    typed = passphrase.lower().replace("-", " ")
    assert sealing.unseal(sealed, typed).decode() == "登録記録"


def test_passphrases_are_fresh_and_unambiguous() -> None:
    phrases = {sealing.new_passphrase() for _ in range(50)}
    assert len(phrases) == 50
    for phrase in phrases:
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){5}", phrase)


def test_a_wrong_passphrase_does_not_open_the_file() -> None:
    sealed = sealing.seal(b"record", "AAAA-BBBB")
    with pytest.raises(sealing.SealError, match="パスフレーズが違うか"):
        sealing.unseal(sealed, "AAAA-BBBC")


@pytest.mark.parametrize("position", [len(sealing.HEADER) + 1, len(sealing.HEADER) + 20, -1])
def test_any_altered_byte_is_detected(position: int) -> None:
    sealed = bytearray(sealing.seal(b"record", "AAAA-BBBB"))
    sealed[position] ^= 0x01
    with pytest.raises(sealing.SealError):
        sealing.unseal(bytes(sealed), "AAAA-BBBB")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.7 not ours",
        sealing.HEADER,
        sealing.HEADER + b"\x00" * 20,
        sealing.HEADER.replace(b"n=32768", b"n=1048576") + b"\x00" * 64,
        sealing.HEADER + b"\x00" * (sealing.MAX_BYTES + 1),
    ],
)
def test_hostile_or_malformed_files_are_refused(data: bytes) -> None:
    with pytest.raises(sealing.SealError):
        sealing.unseal(data, "AAAA-BBBB")


def test_an_empty_passphrase_is_refused() -> None:
    sealed = sealing.seal(b"record", "AAAA")
    with pytest.raises(sealing.SealError, match="パスフレーズが入力されていません"):
        sealing.unseal(sealed, " - ")
