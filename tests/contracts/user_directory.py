"""The contract every UserDirectory adapter passes (subclassed once per adapter)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from projections.handler import apply_user_event
from read_side.errors import InvalidCursorError
from read_side.users import UserDirectory
from tests.builders import user_deactivated, user_registered


class UserDirectoryContract:
    """Subclasses provide a `directory` fixture yielding an empty adapter."""

    pytestmark = pytest.mark.anyio

    async def test_a_registered_user_has_a_public_profile(self, directory: UserDirectory) -> None:
        user_id = uuid4()
        assert await apply_user_event(directory, user_registered(user_id, "ada", "Ada", "L"))
        assert not await apply_user_event(directory, user_registered(user_id, "ada", "Ada", "L"))
        profile = await directory.get_user(user_id)
        assert profile is not None
        assert (profile.username, profile.first_name, profile.version) == ("ada", "Ada", 1)
        assert await directory.get_user(uuid4()) is None

    async def test_search_matches_name_prefixes_in_any_case_in_pages(
        self, directory: UserDirectory
    ) -> None:
        for username, first, last in [
            ("ada", "Ada", "Lovelace"),
            ("adam_s", "Adam", "Smith"),
            ("grace", "Grace", "Hopper"),
            ("lovelace_fan", "Bo", "Adair"),
            ("zed", "Zed", "Z"),
        ]:
            await apply_user_event(directory, user_registered(uuid4(), username, first, last))
        found, cursor = [], None
        while True:
            page = await directory.search_users("AD", 2, cursor)
            found.extend(p.username for p in page.items)
            if (cursor := page.next_cursor) is None:
                break
        assert found == ["ada", "adam_s", "lovelace_fan"]
        assert [p.username for p in (await directory.search_users("love", 10, None)).items] == [
            "ada",
            "lovelace_fan",
        ]

    async def test_like_wildcards_in_a_query_match_literally(
        self, directory: UserDirectory
    ) -> None:
        await apply_user_event(directory, user_registered(uuid4(), "ab_c"))
        await apply_user_event(directory, user_registered(uuid4(), "abxc"))
        assert [p.username for p in (await directory.search_users("ab_", 10, None)).items] == [
            "ab_c"
        ]
        assert (await directory.search_users("%", 10, None)).items == ()

    async def test_deactivated_users_are_not_found_by_search(
        self, directory: UserDirectory
    ) -> None:
        user_id = uuid4()
        await apply_user_event(directory, user_registered(user_id, "gone"))
        await apply_user_event(directory, user_deactivated(user_id, 2))
        assert (await directory.search_users("gone", 10, None)).items == ()
        profile = await directory.get_user(user_id)
        assert profile is not None and not profile.is_active

    async def test_a_malformed_cursor_is_refused(self, directory: UserDirectory) -> None:
        with pytest.raises(InvalidCursorError):
            await directory.search_users("a", 10, "garbage")
