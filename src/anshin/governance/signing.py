"""The Ed25519 key that signs deletion certificates, and the canonical form it signs.

The private key is ANSHIN_SIGNING_KEY (PEM, or a 32-byte seed in base64) or the seed the
deployment generated once under ANSHIN_HOME; its public key is published on /transparency/
so that anyone holding a certificate can check it without any of the city's secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings


class SigningKeyError(ValueError):
    """A key that cannot be read; the message names no key material."""


def canonical(content: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same content always gives the same bytes."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4))


def private_key() -> Ed25519PrivateKey:
    value = settings.SIGNING_KEY.strip()
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(value.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError("ANSHIN_SIGNING_KEY is not an Ed25519 private key.")
        return key
    try:
        seed = unb64(value)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise SigningKeyError("ANSHIN_SIGNING_KEY is neither a PEM key nor a 32-byte base64 seed.")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_pem(key: Ed25519PublicKey | None = None) -> str:
    key = key or public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(key: Ed25519PublicKey | None = None) -> str:
    """SHA-256 of the raw public key, in groups of four hex digits (read aloud, compared)."""
    raw = (key or public_key()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    digest = hashlib.sha256(raw).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def sign(content: dict[str, Any]) -> str:
    return b64(private_key().sign(canonical(content)))


def signature_valid(key: Ed25519PublicKey, payload: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as PEM, or 32 raw bytes in base64 or hex."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError:
            raise SigningKeyError("The public key is not a readable PEM key.") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError("The public key is not an Ed25519 key.")
        return key
    raw = _raw_bytes(text)
    if len(raw) != 32:
        raise SigningKeyError("The public key is neither PEM nor 32 bytes in base64 or hex.")
    return Ed25519PublicKey.from_public_bytes(raw)


def _raw_bytes(text: str) -> bytes:
    for decode in (bytes.fromhex, unb64):
        try:
            return decode(text)
        except (binascii.Error, ValueError):
            continue
    return b""
