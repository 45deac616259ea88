"""Secrets: argon2 passwords, bearer tokens, hub claim codes and broker passwords.

Tokens and claim codes are long random strings, so a SHA-256 digest is enough to store them
and lets the database look them up by an indexed column. Passwords chosen by people get
argon2. A hub's broker password is hashed in Mosquitto's own format (PBKDF2-SHA512, ``$7$``)
so the broker's password file can be written from the database without the plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "spc_"  # noqa: S105  (a visible prefix, not a secret)
CLAIM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed on a box
CLAIM_GROUPS = 4
CLAIM_GROUP_LEN = 4
MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's default; the password itself is 256 random bits

_hasher = PasswordHasher()
# A hash to verify against when the user is unknown, so the answer takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown user (None) costs one verification too."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token or a claim code is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    """A fresh bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_claim_code() -> str:
    """A one-time claim code such as ``K7QM-2XPA-RT9C-WHNE`` (80 random bits)."""
    groups = (
        "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(CLAIM_GROUP_LEN)) for _ in range(CLAIM_GROUPS)
    )
    return "-".join(groups)


def normalize_claim_code(code: str) -> str:
    """The canonical form of a code as typed: upper case, grouped, blanks and dashes ignored."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(raw[i : i + CLAIM_GROUP_LEN] for i in range(0, len(raw), CLAIM_GROUP_LEN))


def new_broker_password() -> str:
    """A fresh broker password for a hub."""
    return secrets.token_urlsafe(32)


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """``password`` as a Mosquitto 2 password-file hash: ``$7$iterations$salt$hash``."""
    salt = secrets.token_bytes(12) if salt is None else salt
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(derived).decode()}"


def verify_mosquitto_hash(stored: str, password: str) -> bool:
    """True when ``password`` matches a hash made by :func:`mosquitto_hash`."""
    try:
        _, kind, iterations, salt, expected = stored.split("$")
        if kind != "7":
            return False
        derived = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(base64.b64encode(derived).decode(), expected)
