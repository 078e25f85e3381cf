"""Encryption of personal data at rest (AES-256-GCM) and the keyed hash used to look it up.

Both keys are derived from ANSHIN_DATA_KEY with HKDF under distinct labels, so a database dump
alone reveals no address, and the look-up hash cannot be reversed by hashing a list of
candidate addresses without the key.

Rotation: a ciphertext names the key it was made with (a 4-byte fingerprint), so after
ANSHIN_DATA_KEY is replaced the old key, listed in ANSHIN_DATA_KEYS_RETIRED, still decrypts
what `anshin keys rotate` has not yet re-encrypted. The look-up hash is not rotated: the
addresses behind suppressed and unsubscribed hashes are gone, so their hashes could never be
recomputed. Its key comes from ANSHIN_LOOKUP_KEY, which defaults to the data key and must be
pinned to the original key before the data key is replaced (`anshin check` says so).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION_1 = b"\x01"  # nonce + ciphertext, under whichever key was current
_VERSION_2 = b"\x02"  # key fingerprint + nonce + ciphertext
_NONCE_BYTES = 12
_KEY_ID_BYTES = 4


class DecryptionError(Exception):
    """The stored value could not be decrypted with the configured data key."""


@functools.cache
def _derive(data_key: str, label: bytes) -> bytes:
    raw = _decode_key(data_key)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(raw)


def _decode_key(data_key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(data_key.strip() + "=" * (-len(data_key.strip()) % 4))
    except ValueError:
        raw = b""
    if len(raw) < 32:
        raise ValueError("ANSHIN_DATA_KEY must be at least 32 random bytes, base64-encoded.")
    return raw


@functools.cache
def _aead_for(data_key: str) -> AESGCM:
    return AESGCM(_derive(data_key, b"anshin/v1/aes-gcm"))


@functools.cache
def key_id(data_key: str) -> bytes:
    """A short public fingerprint of a data key: which key a ciphertext needs."""
    return hashlib.sha256(b"anshin/key-id" + _derive(data_key, b"anshin/v1/aes-gcm")).digest()[
        :_KEY_ID_BYTES
    ]


def _keys() -> list[str]:
    """The current data key first, then the retired ones still needed for decryption."""
    return [settings.DATA_KEY, *settings.DATA_KEYS_RETIRED]


def encrypt(plaintext: str, *, context: bytes) -> bytes:
    """Encrypt `plaintext` under the current key; `context` (e.g. b"subscriber.email") binds
    it to its column."""
    nonce = os.urandom(_NONCE_BYTES)
    body = _aead_for(settings.DATA_KEY).encrypt(nonce, plaintext.encode(), context)
    return _VERSION_2 + key_id(settings.DATA_KEY) + nonce + body


def blob_key_id(blob: bytes) -> bytes | None:
    """The fingerprint of the key a ciphertext was made with (None for the first format,
    which does not say)."""
    blob = bytes(blob)
    return blob[1 : 1 + _KEY_ID_BYTES] if blob[:1] == _VERSION_2 else None


def decrypt(blob: bytes, *, context: bytes) -> str:
    blob = bytes(blob)
    if blob[:1] == _VERSION_2:
        wanted = blob[1 : 1 + _KEY_ID_BYTES]
        candidates = [k for k in _keys() if key_id(k) == wanted]
        payload = blob[1 + _KEY_ID_BYTES :]
    elif blob[:1] == _VERSION_1:
        candidates, payload = _keys(), blob[1:]
    else:
        raise DecryptionError("Unknown ciphertext version.")
    nonce, body = payload[:_NONCE_BYTES], payload[_NONCE_BYTES:]
    for data_key in candidates:
        try:
            return _aead_for(data_key).decrypt(nonce, body, context).decode()
        except InvalidTag:  # another key, or altered data
            continue
    raise DecryptionError("The value does not decrypt with the configured data keys.")


def lookup_hash(value: str) -> str:
    """Keyed hash (HMAC-SHA256, hex) of an already-normalised value, for look-up and uniqueness."""
    key = _derive(settings.LOOKUP_KEY, b"anshin/v1/lookup-hmac")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def lookup_key_id() -> str:
    """Fingerprint of the look-up key, recorded in the database to catch a changed key."""
    key = _derive(settings.LOOKUP_KEY, b"anshin/v1/lookup-hmac")
    return hashlib.sha256(b"anshin/lookup-key-id" + key).hexdigest()[:16]


@functools.cache
def _salted_key(salt: str, secret: str) -> bytes:
    return hashlib.sha256((salt + secret).encode()).digest()


def salted_hmac_fast(salt: str, value: str, secret: str) -> bytes:
    """The digest Django's `salted_hmac(salt, value, secret, algorithm="sha256")` gives, with
    the derived key cached: sending signs two links per message, and deriving the key each
    time was a tenth of the CPU a message costs."""
    return hmac.new(_salted_key(salt, secret), value.encode(), hashlib.sha256).digest()
