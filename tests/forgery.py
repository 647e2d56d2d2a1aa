"""Hand-made tokens an attacker could send, to prove each one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from write_side.identity.tokens import KeyRing


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def claims_for(user_id: UUID, *, typ: str = "access", expires_in: int = 600) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "itinera",
        "aud": "itinera-api",
        "sub": str(user_id),
        "typ": typ,
        "jti": "forged",
        "iat": now,
        "exp": now + expires_in,
    }


def alg_none(ring: KeyRing, user_id: UUID) -> str:
    return (
        _segments({"alg": "none", "typ": "JWT", "kid": ring.signing_kid}, claims_for(user_id)) + "."
    )


def hs256_with_public_key(ring: KeyRing, user_id: UUID) -> str:
    """Algorithm confusion: HMAC keyed with the (public) verification key."""
    public_pem = ring.public_keys[ring.signing_kid].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _segments(
        {"alg": "HS256", "typ": "JWT", "kid": ring.signing_kid}, claims_for(user_id)
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def expired(ring: KeyRing, user_id: UUID) -> str:
    return jwt.encode(
        claims_for(user_id, expires_in=-3600),
        ring.signing_key,
        algorithm="RS256",
        headers={"kid": ring.signing_kid},
    )


def unknown_kid(ring: KeyRing, user_id: UUID) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims_for(user_id), stranger, algorithm="RS256", headers={"kid": "nope"})


def signed_by_a_stranger_with_our_kid(ring: KeyRing, user_id: UUID) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(
        claims_for(user_id), stranger, algorithm="RS256", headers={"kid": ring.signing_kid}
    )


def tampered_signature(token: str) -> str:
    head, body, signature = token.split(".")
    flipped = "A" if signature[10] != "A" else "B"
    return f"{head}.{body}.{signature[:10]}{flipped}{signature[11:]}"


def tampered_claims(token: str, user_id: UUID) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = str(user_id)
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"
