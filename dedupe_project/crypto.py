"""Encryption of secrets stored in the database (Paperless token, OpenAI key).

Fernet with its key derived from ``SECRET_KEY`` by HKDF-SHA256 (not padded or truncated): the
stored value is useless without the secret key, and changing the secret key makes old values
unreadable, which :class:`SecretUnreadable` explains to the person.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_SALT = b"paperless-dedupe/stored-secrets"
_INFO = b"fernet-key-v1"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted: the secret key changed since it was saved."""

    def __init__(self) -> None:
        super().__init__(
            "A stored secret cannot be decrypted: DEDUPE_SECRET_KEY changed since it was saved. "
            "Enter the secret again on the settings page."
        )


@lru_cache(maxsize=4)
def _fernet_for(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(value: str) -> str:
    return _fernet_for(settings.SECRET_KEY).encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet_for(settings.SECRET_KEY).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable() from exc


def masked(value: str | None) -> str:
    """What the UI shows of a secret: never more than its last four characters."""
    if not value:
        return ""
    if len(value) <= 8:
        return "•" * 8
    return "•" * 8 + value[-4:]
