"""API tokens: random, shown once, stored only as their sha256, compared in constant time."""

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "pb_"  # recognisable in logs and secret scanners
TOKEN_BYTES = 32  # 256 bits of randomness: a sha256 without salt is enough, nobody can enumerate them


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(token_sha256(token), stored_sha256)
