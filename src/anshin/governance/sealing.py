"""The encrypted file a disclosure is handed over in, and the one-time passphrase that opens it.

Format (all of it documented here, so that a recipient without anshin can open it too):

    ANSHIN-DISCLOSURE-V1 scrypt:n=32768,r=8,p=1 aes-256-gcm\\n   (the header line, ASCII)
    salt      16 bytes
    nonce     12 bytes
    ciphertext with its 16-byte GCM tag

key = scrypt(passphrase without hyphens or spaces, upper-case, UTF-8; salt; n, r, p; 32 bytes);
plaintext = AES-256-GCM-decrypt(key, nonce, ciphertext, associated data = header line + salt).
The plaintext is a UTF-8 JSON document. `anshin disclosures decrypt FILE` does exactly this.

The passphrase is made once, shown once to the approver and never stored: the city's database
keeps only the sealed bytes until the handover is recorded, which it cannot open.
"""

from __future__ import annotations

import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.utils.translation import gettext as _

HEADER = b"ANSHIN-DISCLOSURE-V1 scrypt:n=32768,r=8,p=1 aes-256-gcm\n"
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_BYTES = 16 * 1024 * 1024
# No 0/O, 1/I/L: read aloud over the phone or copied by hand without mistakes.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LEN = 6, 4  # 24 characters of a 31-letter alphabet: about 119 bits


class SealError(ValueError):
    """The file cannot be opened; the message names no secret."""


def new_passphrase() -> str:
    """Like 7KQM-XR2D-…: six groups of four, from the operating system's random source."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LEN))
    return "-".join(chars[i : i + GROUP_LEN] for i in range(0, len(chars), GROUP_LEN))


def normalise_passphrase(text: str) -> str:
    """What a person types: any case, with or without hyphens and spaces."""
    return "".join(c for c in text.upper() if c not in "- \t\r\n")


def _key(passphrase: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
    return kdf.derive(normalise_passphrase(passphrase).encode())


def seal(plaintext: bytes, passphrase: str) -> bytes:
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    body = AESGCM(_key(passphrase, salt)).encrypt(nonce, plaintext, HEADER + salt)
    return HEADER + salt + nonce + body


def unseal(data: bytes, passphrase: str) -> bytes:
    if len(data) > MAX_BYTES or not data.startswith(HEADER):
        raise SealError(_("This is not an anshin disclosure file."))
    rest = data[len(HEADER) :]
    if len(rest) < SALT_BYTES + NONCE_BYTES + TAG_BYTES:
        raise SealError(_("The file is cut short."))
    salt, nonce = rest[:SALT_BYTES], rest[SALT_BYTES : SALT_BYTES + NONCE_BYTES]
    body = rest[SALT_BYTES + NONCE_BYTES :]
    if not normalise_passphrase(passphrase):
        raise SealError(_("No passphrase was given."))
    try:
        return AESGCM(_key(passphrase, salt)).decrypt(nonce, body, HEADER + salt)
    except InvalidTag:
        raise SealError(_("Wrong passphrase, or the file was altered.")) from None
