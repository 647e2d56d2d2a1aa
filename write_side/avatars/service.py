"""The avatar application service: store an upload's renditions, point the profile at them.

No event of its own: the profile's `ProfileUpdated` carries the stored image's URL, so every
read model that shows an avatar (profiles, chat senders, member lists) shows it unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from write_side.avatars.ports import AvatarImages, MediaStorage
from write_side.context import CommandContext, acting_as
from write_side.errors import ConcurrencyConflictError, UserNotFoundError
from write_side.event_store import EventStore
from write_side.identity.user import User

SAVE_ATTEMPTS = 3  # a concurrent profile change makes the save retry on the newer version


@dataclass(frozen=True)
class StoredAvatar:
    user: User
    urls: dict[int, str]  # by size; the profile's avatar URL is the largest


def _folder(user_id: UUID) -> str:
    return f"avatars/{user_id}/"


class Avatars:
    def __init__(
        self,
        events: EventStore,
        images: AvatarImages,
        storage: MediaStorage,
        sizes: Sequence[int],
    ) -> None:
        self._events = events
        self._images = images
        self._storage = storage
        self._sizes = sorted(set(sizes))

    def upload(self, upload: bytes, context: CommandContext) -> StoredAvatar:
        """Re-encode and store the upload, then set it as the caller's avatar; the replaced
        avatar's files are deleted once the profile no longer names them."""
        renditions = self._images.render(upload, self._sizes)
        # Content-addressed names: a file never changes under its URL, so it may be cached
        # for good; the same picture uploaded again lands on the same names.
        digest = hashlib.sha256(upload).hexdigest()[:32]
        stem = f"{_folder(context.actor_id)}{digest}-"
        keys = {r.size: f"{stem}{r.size}.{r.extension}" for r in renditions}
        for rendition in renditions:
            self._storage.put(keys[rendition.size], rendition.data, rendition.content_type)
        urls = {size: self._storage.url(key) for size, key in keys.items()}
        try:
            user, replaced = self._set_avatar_url(urls[max(urls)], context)
        except BaseException:
            self._discard_unless_current(stem, context.actor_id)
            raise
        if replaced and replaced != stem:
            self._storage.delete(replaced)
        return StoredAvatar(user=user, urls=urls)

    def remove(self, context: CommandContext) -> User:
        """Clear the caller's avatar and delete every stored file of theirs."""
        user, _ = self._set_avatar_url("", context)
        self._storage.delete(_folder(context.actor_id))
        return user

    def _set_avatar_url(self, url: str, context: CommandContext) -> tuple[User, str | None]:
        """The saved user, and the key stem of the avatar it replaced (None: not ours)."""
        for _ in range(SAVE_ATTEMPTS):
            user = self._events.find(context.actor_id, User)
            if user is None:
                raise UserNotFoundError(context.actor_id)
            replaced = self._stem_in(user.avatar_url, context.actor_id)
            with acting_as(context):
                user.update_profile(
                    first_name=user.first_name,
                    last_name=user.last_name,
                    bio=user.bio,
                    avatar_url=url,
                )
            try:
                self._events.save(user)
            except IntegrityError:
                continue  # the profile changed since it was read: apply to the newer one
            return user, replaced
        raise ConcurrencyConflictError(context.actor_id)

    def _discard_unless_current(self, stem: str, user_id: UUID) -> None:
        """A failed upload leaves no files, unless they are the current avatar's (the same
        picture uploaded again)."""
        user = self._events.find(user_id, User)
        if user is None or self._stem_in(user.avatar_url, user_id) != stem:
            self._storage.delete(stem)

    @staticmethod
    def _stem_in(url: str, user_id: UUID) -> str | None:
        found = re.search(rf"{re.escape(_folder(user_id))}([0-9a-f]{{32}})-\d+\.\w+$", url)
        return f"{_folder(user_id)}{found.group(1)}-" if found else None
