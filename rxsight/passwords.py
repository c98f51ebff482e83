"""Console passwords: PBKDF2-SHA256 hashes, made and checked, and what a stored hash must be."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

ALGORITHM = "pbkdf2_sha256"
ROUNDS = 120_000
MIN_ROUNDS = 100_000
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ROUNDS)
    return f"{ALGORITHM}${ROUNDS}${salt}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    if hash_problem(encoded) is not None:
        return False
    _, rounds, salt, digest = encoded.split("$")
    test = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(rounds))
    return hmac.compare_digest(test.hex(), digest)


def hash_problem(encoded: str) -> str | None:
    """Why `encoded` is not a hash `rxsight hash-password` makes; None when it is one."""
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        return (
            f"not a password hash (expected {ALGORITHM}$<rounds>$<salt>$<digest>, as "
            "`rxsight hash-password` prints); never put a password itself in the config"
        )
    _, rounds, salt, digest = parts
    if not rounds.isdigit() or int(rounds) < MIN_ROUNDS:
        return f"the hash has {rounds!r} rounds; at least {MIN_ROUNDS} are needed"
    if not salt:
        return "the hash has no salt"
    if not _DIGEST.match(digest):
        return "the hash's digest is not 64 hexadecimal digits"
    return None
