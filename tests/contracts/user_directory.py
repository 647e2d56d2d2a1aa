"""The contract every UserDirectory adapter passes (subclassed once per adapter)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from read_side.errors import InvalidCursorError
from tests.builders import user_deactivated, user_registered
from tests.projected import Projected


class UserDirectoryContract:
    """Subclasses provide a `models` fixture: empty read models fed through the engine."""

    pytestmark = pytest.mark.anyio

    async def test_a_registered_user_has_a_public_profile(self, models: Projected) -> None:
        user_id = uuid4()
        assert (await models.apply(user_registered(user_id, "ada", "Ada", "L"))).applied == 1
        assert (await models.apply(user_registered(user_id, "ada", "Ada", "L"))).applied == 0
        profile = await models.users.get_user(user_id)
        assert profile is not None
        assert (profile.username, profile.first_name, profile.version) == ("ada", "Ada", 1)
        assert await models.users.get_user(uuid4()) is None

    async def test_usernames_are_looked_up_in_one_call(self, models: Projected) -> None:
        ada, grace, stranger = uuid4(), uuid4(), uuid4()
        await models.apply(user_registered(ada, "ada"))
        await models.apply(user_registered(grace, "grace"))
        assert await models.users.usernames([ada, grace, stranger]) == {ada: "ada", grace: "grace"}
        assert await models.users.usernames([]) == {}

    async def test_profiles_are_looked_up_in_one_call(self, models: Projected) -> None:
        ada, stranger = uuid4(), uuid4()
        await models.apply(user_registered(ada, "ada"))
        found = await models.users.profiles([ada, stranger])
        assert list(found) == [ada]
        assert (found[ada].username, found[ada].avatar) == ("ada", "")
        assert await models.users.profiles([]) == {}

    async def test_search_matches_name_prefixes_in_any_case_in_pages(
        self, models: Projected
    ) -> None:
        for username, first, last in [
            ("ada", "Ada", "Lovelace"),
            ("adam_s", "Adam", "Smith"),
            ("grace", "Grace", "Hopper"),
            ("lovelace_fan", "Bo", "Adair"),
            ("zed", "Zed", "Z"),
        ]:
            await models.apply(user_registered(uuid4(), username, first, last))
        found, cursor = [], None
        while True:
            page = await models.users.search_users("AD", 2, cursor)
            found.extend(p.username for p in page.items)
            if (cursor := page.next_cursor) is None:
                break
        assert found == ["ada", "adam_s", "lovelace_fan"]
        assert [p.username for p in (await models.users.search_users("love", 10, None)).items] == [
            "ada",
            "lovelace_fan",
        ]

    async def test_like_wildcards_in_a_query_match_literally(self, models: Projected) -> None:
        await models.apply(user_registered(uuid4(), "ab_c"))
        await models.apply(user_registered(uuid4(), "abxc"))
        assert [p.username for p in (await models.users.search_users("ab_", 10, None)).items] == [
            "ab_c"
        ]
        assert (await models.users.search_users("%", 10, None)).items == ()

    async def test_deactivated_users_are_not_found_by_search(self, models: Projected) -> None:
        user_id = uuid4()
        await models.apply(user_registered(user_id, "gone"))
        await models.apply(user_deactivated(user_id, 2))
        assert (await models.users.search_users("gone", 10, None)).items == ()
        profile = await models.users.get_user(user_id)
        assert profile is not None and not profile.is_active

    async def test_a_malformed_cursor_is_refused(self, models: Projected) -> None:
        with pytest.raises(InvalidCursorError):
            await models.users.search_users("a", 10, "garbage")
