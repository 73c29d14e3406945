"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["configure_hasher", "hash_password", "needs_rehash", "verify_password"]

_hasher = PasswordHasher()

# Verified against when the account does not exist, so timing does not tell;
# made at the first sign-in, not at import (a hash costs 64 MiB for a moment).
_DUMMY_HASH = ""


def configure_hasher(time_cost: int, memory_cost: int) -> None:
    """Change the cost of new hashes; the test suite makes them cheap.

    A stored hash carries its own parameters, so verifying follows the hash.
    """
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
    _DUMMY_HASH = ""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if not _DUMMY_HASH:
        _DUMMY_HASH = _hasher.hash("not a real password")
    return _DUMMY_HASH


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
