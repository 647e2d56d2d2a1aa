"""The user directory: public profiles, for profile pages and finding people to invite."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol
from uuid import UUID

from pydantic import computed_field

from read_side.views import View


class UserProfileView(View):
    id: UUID
    version: int
    username: str
    first_name: str
    last_name: str
    bio: str
    avatar_url: str
    is_active: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avatar(self) -> str:
        """The seed's name for `avatar_url`."""
        return self.avatar_url


class UserProfilePage(View):
    items: tuple[UserProfileView, ...]
    next_cursor: str | None


class UserDirectory(Protocol):
    async def get_user(self, user_id: UUID) -> UserProfileView | None: ...

    async def usernames(self, user_ids: Collection[UUID]) -> dict[UUID, str]:
        """The username of each of these users the directory knows."""
        ...

    async def profiles(self, user_ids: Collection[UUID]) -> dict[UUID, UserProfileView]:
        """The profile of each of these users the directory knows (message senders)."""
        ...

    async def search_users(self, prefix: str, limit: int, after: str | None) -> UserProfilePage:
        """Active users whose username, first or last name starts with `prefix` (any case),
        ordered by username; `after` is the previous page's cursor."""
        ...
