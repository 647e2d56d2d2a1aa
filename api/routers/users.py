from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from api.deps import AccountsService, Acting, CurrentUser, Users
from api.envelope import ok
from api.identity_schemas import (
    AccountBody,
    ChangePasswordBody,
    DeactivatedBody,
    ProfileBody,
    TokensBody,
)
from api.openapi import AUTHENTICATED, CURSOR, errors, success
from api.routers.auth import token_body
from api.text import one_line
from read_side import queries
from read_side.users import UserProfileView
from write_side.identity.accounts import UpdateProfile
from write_side.identity.user import User

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses=errors(
        {
            **AUTHENTICATED,
            400: "invalid_cursor",
            401: "unauthenticated, invalid_credentials (wrong current password)",
            404: "user_not_found",
            409: "email_taken",
            422: "validation_failed",
        }
    ),
)


def _me(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "pending_email": user.pending_email,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "bio": user.bio,
        "avatar_url": user.avatar_url,
        "avatar": user.avatar_url,  # the seed's name
        "is_active": user.is_active,
        "version": user.version,
    }


@router.get("/me", responses=success(AccountBody))
def get_me(request: Request, user_id: CurrentUser, accounts: AccountsService) -> JSONResponse:
    """The caller's own account, email included."""
    return ok(request, _me(accounts.get_user(user_id)))


@router.put("/me", responses=success(AccountBody))
def update_me(
    request: Request, body: ProfileBody, acting: Acting, accounts: AccountsService
) -> JSONResponse:
    """Replace the caller's profile (first and last name, bio, avatar URL). A new `email` is
    mailed a verification link and replaces the current one once verified (409 email_taken
    if another account holds it)."""
    user = accounts.update_me(
        UpdateProfile(
            first_name=body.first_name,
            last_name=body.last_name,
            bio=body.bio,
            avatar_url=body.avatar_url,
        ),
        body.email,
        acting,
    )
    return ok(request, _me(user))


@router.post("/me/password", responses=success(TokensBody))
def change_password(
    request: Request, body: ChangePasswordBody, acting: Acting, accounts: AccountsService
) -> JSONResponse:
    """Change the password: every session ends, and this call returns a new one."""
    pair = accounts.change_password(body.current_password, body.new_password, acting)
    return ok(request, token_body(pair))


@router.delete("/me", responses=success(DeactivatedBody))
def deactivate_me(request: Request, acting: Acting, accounts: AccountsService) -> JSONResponse:
    """Deactivate the caller's account; its tokens stop working at once."""
    accounts.deactivate(acting)
    return ok(request, {"deactivated": True})


@router.get("/search", responses=success(list[UserProfileView]))
async def search_users(
    request: Request,
    _: CurrentUser,
    users: Users,
    accounts: AccountsService,
    q: Annotated[str, Query(min_length=1, max_length=50), AfterValidator(one_line)],
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
) -> JSONResponse:
    """People whose username or name starts with `q`, to invite to a trip; a whole email
    address finds its account (only if verified, unless ITINERA_UNVERIFIED_FOUND_BY_EMAIL)."""
    if "@" in q:
        found = await run_in_threadpool(accounts.find_by_email, q)
        profiles = [] if found is None else [await queries.user_profile(users, found)]
        return ok(request, profiles, meta={"next_cursor": None, "limit": limit})
    page = await queries.find_users(users, q, limit=limit, after=cursor)
    return ok(request, page.items, meta={"next_cursor": page.next_cursor, "limit": limit})


@router.get("/{user_id}", responses=success(UserProfileView))
async def get_user(request: Request, user_id: UUID, _: CurrentUser, users: Users) -> JSONResponse:
    """A user's public profile."""
    return ok(request, await queries.user_profile(users, user_id))
