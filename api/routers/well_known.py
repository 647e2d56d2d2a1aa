from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AccountsService

router = APIRouter(tags=["auth"])


@router.get("/.well-known/jwks.json")
def jwks(accounts: AccountsService) -> dict[str, Any]:
    """The JWKS, bare (no envelope), as JWKS clients expect it (public)."""
    return accounts.tokens.jwks()
