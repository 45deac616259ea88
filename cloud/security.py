"""Secrets: argon2 passwords, bearer tokens, hub claim codes, broker passwords, sealed secrets.

Tokens and claim codes are long random strings, so a SHA-256 digest is enough to store them
and lets the database look them up by an indexed column. Passwords chosen by people get
argon2. A hub's broker password is hashed in Mosquitto's own format (PBKDF2-SHA512, ``$7$``)
so the broker's password file can be written from the database without the plaintext.

Secrets the cloud must read back (a webhook's signing secret) cannot be hashed: a
:class:`SecretBox` seals them with AES-256-GCM under the cloud's key-encryption key, as
``v1:<nonce>:<ciphertext>`` (base64), bound to a context (e.g. the row's id) given as associated
data, so a sealed value copied elsewhere does not open.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_PREFIX = "spc_"  # noqa: S105  (a visible prefix, not a secret)
CLAIM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed on a box
CLAIM_GROUPS = 4
CLAIM_GROUP_LEN = 4
MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's default; the password itself is 256 random bits
SEALED_PREFIX = "v1:"  # version of the sealed format (AES-256-GCM, 96-bit nonce)
KEY_BYTES = 32
NONCE_BYTES = 12

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


class SecretKeyError(RuntimeError):
    """The key-encryption key is missing or unreadable."""


class UnsealError(ValueError):
    """A sealed value does not open: another key, another context, or altered."""


def decode_key(text: str) -> bytes:
    """A 32-byte key from base64 (standard or URL-safe alphabet); ValueError otherwise."""
    raw = text.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"{len(key)} bytes, not {KEY_BYTES}")
    return key


def new_key() -> str:
    """A fresh key-encryption key in base64 (for ``SMARTPOS_CLOUD_SECRET_KEY`` or a key file)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def read_key_file(path: Path) -> bytes:
    """The key in ``path``; :class:`SecretKeyError` when it is missing, unreadable or malformed."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SecretKeyError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    try:
        return decode_key(text)
    except ValueError as exc:
        raise SecretKeyError(f"the key file {path} does not hold a 32-byte base64 key: {exc}") from None


def create_key_file(path: Path) -> bytes:
    """The key in ``path``, made first (mode 0600) if the file does not exist.

    The new key is written to a private temporary file that is then hard-linked to ``path``,
    which fails if the file exists: a reader never sees half a key, and processes racing to
    create it all end up with the one that won.
    """
    if path.exists():
        return read_key_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(new_key() + "\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise SecretKeyError(f"cannot create the key file {path}: {exc.strerror or exc}") from None
    return read_key_file(path)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def is_sealed(stored: str) -> bool:
    """True when ``stored`` is a value sealed by :class:`SecretBox` (not a legacy plain one)."""
    return stored.startswith(SEALED_PREFIX)


class SecretBox:
    """Seals and opens secrets with AES-256-GCM under one key-encryption key.

    The key is given, or read from ``key_file`` when first needed; sealing creates that file
    if it does not exist, opening never does (a missing key file is an error, not a new key).
    ``source`` says where the key comes from, for error messages (never the key itself).
    """

    def __init__(self, key: bytes | None = None, *, key_file: Path | None = None, source: str = "") -> None:
        if key is None and key_file is None:
            raise ValueError("a secret box needs a key or a key file")
        if key is not None and len(key) != KEY_BYTES:
            raise ValueError(f"a key-encryption key has {KEY_BYTES} bytes")
        self._aead = AESGCM(key) if key is not None else None
        self.key_file = key_file
        self.source = source or (f"the key file {key_file}" if key is None else "the configured key")

    def _cipher(self, *, create: bool) -> AESGCM:
        if self._aead is None:
            assert self.key_file is not None
            key = create_key_file(self.key_file) if create else read_key_file(self.key_file)
            self._aead = AESGCM(key)
        return self._aead

    def seal(self, plaintext: str, context: str) -> str:
        """``plaintext`` encrypted and bound to ``context``: ``v1:<nonce>:<ciphertext>``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._cipher(create=True).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{SEALED_PREFIX}{_b64(nonce)}:{_b64(sealed)}"

    def open(self, stored: str, context: str) -> str:
        """The plaintext of a sealed value; :class:`UnsealError` unless it was sealed under this
        key for this ``context`` and is intact, :class:`SecretKeyError` without a key."""
        if not is_sealed(stored):
            raise UnsealError("not a sealed value")
        try:
            nonce_text, data_text = stored[len(SEALED_PREFIX) :].split(":")
            nonce = base64.b64decode(nonce_text, validate=True)
            data = base64.b64decode(data_text, validate=True)
        except (binascii.Error, ValueError):
            raise UnsealError("a malformed sealed value") from None
        if len(nonce) != NONCE_BYTES:
            raise UnsealError("a malformed sealed value")
        try:
            plaintext = self._cipher(create=False).decrypt(nonce, data, context.encode())
        except InvalidTag:
            raise UnsealError(
                f"it does not decrypt with {self.source} (another key, or a value altered or "
                "copied from another row)"
            ) from None
        return plaintext.decode()
