"""Deletion certificates: a Japanese PDF that really embeds its CJK glyphs, signed with
Ed25519 over canonical JSON, and `anshin certificates verify` that accepts an issued file
and refuses a forged, altered, unsigned or hostile one with a plain message."""

from __future__ import annotations

import base64
import io
import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import translation
from fontTools.cffLib import CFFFontSet  # type: ignore[import-untyped]  # no stubs

from anshin.conftest import make_subscriber
from anshin.core.audit import OPERATOR
from anshin.governance import pdf, signing
from anshin.governance.models import Certificate
from anshin.governance.services import retention_purge
from anshin.governance.tests.factories import days_ago, subscriber_dated
from anshin.residents.models import Subscriber

_STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def _streams(data: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    for header, body in _STREAM.findall(data):
        if b"/FlateDecode" in header:
            body = zlib.decompress(body)
        out.append((header, body))
    return out


def _mapped_text(data: bytes) -> str:
    """Every character the PDF's ToUnicode maps declare: what a text extractor can read."""
    chars = []
    for _header, body in _streams(data):
        if b"beginbfchar" in body or b"beginbfrange" in body:
            for hexa in re.findall(rb"<([0-9A-Fa-f]{4,8})>\s*\n", body + b"\n"):
                chars.append(bytes.fromhex(hexa.decode()).decode("utf-16-be", "replace"))
            for pair in re.findall(rb"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]+)>", body):
                chars.append(bytes.fromhex(pair.decode()).decode("utf-16-be", "replace"))
    return "".join(chars)


@pytest.fixture
def issued(categories: Any) -> Certificate:
    sub = make_subscriber("gone@example.jp", categories["bousai"], state="unsubscribed")
    subscriber_dated(sub, unsubscribed_at=days_ago(45))
    retention_purge(actor=OPERATOR)
    return Certificate.objects.get(kind="unsubscribed")


def _write(tmp_path: Path, data: bytes, name: str = "cert.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _verify(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("certificates", "verify", *args, stdout=out)
    return out.getvalue()


def _refused(*args: str) -> str:
    with translation.override("en"), pytest.raises(CommandError) as caught:
        call_command("certificates", "verify", *args)
    assert caught.value.returncode == 1
    return str(caught.value)


@pytest.mark.django_db
def test_the_pdf_embeds_a_cjk_font_subset_with_the_japanese_glyphs(issued: Certificate) -> None:
    data = bytes(issued.pdf)
    assert b"/FontFile3" in data or b"/FontFile2" in data
    text = _mapped_text(data)
    for word in ("削除証明書", "安心市", "配信を解除", "件"):
        assert set(word) <= set(text), word
    font_streams = [b for h, b in _streams(data) if b"/CIDFontType0C" in h or b"/Length1" in h]
    assert font_streams
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(font_streams[0]), None)
    glyphs = cff[cff.fontNames[0]].CharStrings
    japanese = {c for c in text if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"}
    assert len(japanese) > 80
    assert len(glyphs) > len(japanese)  # one outline per character drawn, embedded


@pytest.mark.django_db
def test_an_issued_certificate_verifies_with_a_summary(issued: Certificate, tmp_path: Path) -> None:
    out = _verify(_write(tmp_path, bytes(issued.pdf)))
    assert out.startswith(f"The signature is valid (public key SHA-256 {signing.fingerprint()}).")
    assert "Number of records: 1 records" in out
    assert f"Certificate number: {issued.serial}" in out
    assert "ANSHIN_RETENTION_UNSUBSCRIBED_DAYS" in out


@pytest.mark.django_db
def test_the_signed_content_names_the_rule_and_no_personal_data(issued: Certificate) -> None:
    content = issued.content
    assert content["rule"] == {"setting": "ANSHIN_RETENTION_UNSUBSCRIBED_DAYS", "days": 30}
    assert (content["kind"], content["count"], content["city"]) == ("unsubscribed", 1, "安心市")
    assert "gone@" not in json.dumps(content) and b"gone@" not in bytes(issued.pdf)
    assert signing.signature_valid(
        signing.public_key(), signing.canonical(content), signing.unb64(issued.signature)
    )


@pytest.mark.django_db
def test_verify_with_the_published_key_as_file_and_as_text(
    issued: Certificate, tmp_path: Path
) -> None:
    key_file = _write(tmp_path, signing.public_pem().encode(), "key.pem")
    cert = _write(tmp_path, bytes(issued.pdf))
    assert "signature is valid" in _verify(cert, "--public-key", key_file)
    assert "signature is valid" in _verify(cert, "--public-key", signing.public_pem())


def _with_content(data: bytes, change: Any) -> bytes:
    ((content_b64, signature),) = pdf.find_payloads(data)
    content = json.loads(signing.unb64(content_b64))
    change(content)
    forged = signing.b64(signing.canonical(content))
    return data.replace(content_b64.encode(), forged.encode())


@pytest.mark.django_db
def test_an_altered_count_is_refused(issued: Certificate, tmp_path: Path) -> None:
    altered = _with_content(bytes(issued.pdf), lambda c: c.update(count=1000))
    message = _refused(_write(tmp_path, altered))
    assert message == (
        "The signature does not match the public key: the certificate was altered, or it was "
        "not issued with this key."
    )


@pytest.mark.django_db
def test_a_certificate_signed_with_another_key_is_refused(
    issued: Certificate, tmp_path: Path
) -> None:
    ((content_b64, signature),) = pdf.find_payloads(bytes(issued.pdf))
    forger = Ed25519PrivateKey.generate()
    forged_sig = signing.b64(forger.sign(signing.unb64(content_b64)))
    forged = bytes(issued.pdf).replace(signature.encode(), forged_sig.encode())
    assert "does not match the public key" in _refused(_write(tmp_path, forged))
    # ... and it verifies only against the forger's own key, which is not the published one.
    forger_pem = (
        forger.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert "signature is valid" in _verify(_write(tmp_path, forged), "--public-key", forger_pem)


@pytest.mark.django_db
def test_a_pdf_without_a_signature_is_refused(tmp_path: Path) -> None:
    unsigned = pdf.render([("種類", "配信記録")], "削除証明書", b"nothing here", days_ago(0))
    assert _refused(_write(tmp_path, unsigned)) == (
        "This PDF carries no anshin signature: it is not signed."
    )


@pytest.mark.django_db
def test_a_pdf_with_a_second_signed_content_appended_is_refused(
    issued: Certificate, tmp_path: Path
) -> None:
    data = bytes(issued.pdf)
    extra = _with_content(data, lambda c: c.update(count=2))
    appended = data + pdf.payload_line(*pdf.find_payloads(extra)[0])
    assert "more than one signed content" in _refused(_write(tmp_path, appended))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"%PDF-1.4\n" + b"ANSHIN-CERTIFICATE-V1 !!! ???\n", b"\x00" * 1000],
)
def test_garbage_files_are_refused_plainly(data: bytes, tmp_path: Path) -> None:
    message = _refused(_write(tmp_path, data))
    assert message in (
        "This is not a PDF file, so it is not an anshin certificate.",
        "This PDF carries no anshin signature: it is not signed.",
    )


@pytest.mark.django_db
def test_a_damaged_signature_or_non_canonical_content_is_refused(tmp_path: Path) -> None:
    key = signing.private_key()
    loose = json.dumps({"count": 1}, indent=2).encode()  # signed, but not as anshin signs
    line = pdf.payload_line(signing.b64(loose), signing.b64(key.sign(loose)))
    assert _refused(_write(tmp_path, b"%PDF-1.7\n" + line)) == (
        "The signed content is not a certificate anshin issues."
    )
    short = pdf.payload_line(signing.b64(b"{}"), "AAAA")
    assert "does not match" in _refused(_write(tmp_path, b"%PDF-1.7\n" + short))


@pytest.mark.django_db
def test_oversized_missing_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    assert _refused(str(big)) == "The file is too large to be a certificate."
    assert _refused(str(tmp_path / "missing.pdf")) == "The file cannot be read."
    assert _refused(str(tmp_path)) == "The file cannot be read."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    [
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        "00" * 31,
        "x" * 5000,
    ],
)
def test_an_unreadable_public_key_is_refused(issued: Certificate, tmp_path: Path, key: str) -> None:
    message = _refused(_write(tmp_path, bytes(issued.pdf)), "--public-key", key)
    assert message == (
        "The public key cannot be read: give a PEM key or 32 bytes in base64 or hex."
    )


@pytest.mark.django_db
def test_a_configured_pem_signing_key_is_used(settings: Any, categories: Any) -> None:
    key = Ed25519PrivateKey.generate()
    settings.SIGNING_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert signing.public_pem() == (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.SIGNING_KEY = base64.b64encode(b"short").decode()
    with pytest.raises(signing.SigningKeyError):
        signing.private_key()


@pytest.mark.django_db
def test_a_missing_font_fails_clearly_and_the_certificate_is_issued_once_it_exists(
    settings: Any, categories: Any, tmp_path: Path
) -> None:
    settings.CERTIFICATE_FONT = str(tmp_path / "no-such-font.ttc")
    sub = make_subscriber("late@example.jp", categories["bousai"], state="unsubscribed")
    subscriber_dated(sub, unsubscribed_at=days_ago(45))
    with translation.override("en"), pytest.raises(CommandError) as caught:
        call_command("retention", "purge")
    assert "ANSHIN_CERTIFICATE_FONT does not name a font file." in str(caught.value)
    sub.refresh_from_db()
    assert bytes(sub.email_ciphertext) == b""  # the purge itself happened
    certificate = Certificate.objects.get()
    assert (certificate.count, certificate.issued_at) == (1, None)
    settings.CERTIFICATE_FONT = ""
    from anshin.governance.services import certificates_issue_pending

    assert certificates_issue_pending() == 1
    assert Certificate.objects.get().issued_at is not None
    assert Subscriber.objects.get().state == "unsubscribed"
