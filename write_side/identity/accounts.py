"""The accounts application service: registration, login, sessions, profile, deactivation."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.errors import (
    AuthenticationError,
    EmailTakenError,
    InvalidCredentialsError,
    UsernameTakenError,
    UserNotFoundError,
)
from write_side.event_store import EventStore
from write_side.identity.passwords import hash_password, verify_password
from write_side.identity.tokens import Claims, TokenPair, TokenService
from write_side.identity.user import (
    EmailIndex,
    User,
    UsernameIndex,
    normalize_email,
    normalize_username,
)


@dataclass(frozen=True)
class Register:
    email: str
    username: str
    password: str
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class UpdateProfile:
    first_name: str
    last_name: str
    bio: str
    avatar_url: str


@dataclass(frozen=True)
class Session:
    user_id: UUID
    tokens: TokenPair


class Accounts:
    def __init__(self, events: EventStore, tokens: TokenService) -> None:
        self._events = events
        self._tokens = tokens

    @property
    def tokens(self) -> TokenService:
        return self._tokens

    def register(self, command: Register, correlation_id: UUID) -> UUID:
        user_id = uuid4()
        with acting_as(CommandContext(actor_id=user_id, correlation_id=correlation_id)):
            user = User(
                user_id=user_id,
                email=normalize_email(command.email),
                username=command.username.strip(),
                password_hash=hash_password(command.password),
                first_name=command.first_name,
                last_name=command.last_name,
            )
            email = EmailIndex(email=command.email, user_id=user_id)
            username = UsernameIndex(username=command.username, user_id=user_id)
        try:
            self._events.save(user, email, username)
        except IntegrityError:
            # One of the two index aggregates already exists: say which.
            if self._events.find(EmailIndex.create_id(command.email), EmailIndex):
                raise EmailTakenError() from None
            raise UsernameTakenError() from None
        return user_id

    def login(self, login: str, password: str) -> Session:
        """`login` is an email or a username. Every failure is the same error."""
        user = self._find_by_login(login)
        if not verify_password(user.password_hash if user else None, password):
            raise InvalidCredentialsError()
        assert user is not None
        if not user.is_active:
            raise InvalidCredentialsError()
        return Session(user_id=user.id, tokens=self._tokens.issue(user.id))

    def login_subject(self, login: str) -> str:
        """Whom a login names, to count attempts against: the account's id, however it is
        named (email or username), or the normalized login when no account has it."""
        user = self._find_by_login(login)
        if user is not None:
            return str(user.id)
        return normalize_email(login) if "@" in login else normalize_username(login)

    def refresh(self, refresh_token: str) -> Session:
        claims, pair = self._tokens.refresh(refresh_token)
        if not self.get_user(claims.user_id).is_active:
            self._tokens.revoke_everything_of(claims.user_id)
            raise AuthenticationError("inactive user")
        return Session(user_id=claims.user_id, tokens=pair)

    def logout(self, access: Claims, refresh_token: str | None) -> None:
        refresh = None
        if refresh_token:
            refresh = self._tokens.refresh_claims(refresh_token)
            if refresh.user_id != access.user_id:
                raise AuthenticationError("refresh token of another user")
        self._tokens.revoke_session(access, refresh)

    def authenticate(self, access_token: str) -> Claims:
        return self._tokens.verify_access(access_token)

    def get_user(self, user_id: UUID) -> User:
        user = self._events.find(user_id, User)
        if user is None:
            raise UserNotFoundError(user_id)
        return user

    def update_profile(self, command: UpdateProfile, context: CommandContext) -> User:
        user = self.get_user(context.actor_id)
        with acting_as(context):
            user.update_profile(
                first_name=command.first_name,
                last_name=command.last_name,
                bio=command.bio,
                avatar_url=command.avatar_url,
            )
        self._events.save(user)
        return user

    def change_password(self, current: str, new: str, context: CommandContext) -> TokenPair:
        """Every existing session ends; the caller gets a new one."""
        user = self.get_user(context.actor_id)
        if not verify_password(user.password_hash, current):
            raise InvalidCredentialsError()
        with acting_as(context):
            user.change_password(hash_password(new))
        self._events.save(user)
        self._tokens.revoke_everything_of(user.id)
        return self._tokens.issue(user.id)

    def deactivate(self, context: CommandContext) -> None:
        user = self.get_user(context.actor_id)
        with acting_as(context):
            user.deactivate()
        self._events.save(user)
        self._tokens.revoke_everything_of(user.id)

    def is_admin(self, user_id: UUID) -> bool:
        """Asked of the event store, not a read model: a grant is seen at once."""
        user = self._events.find(user_id, User)
        return user is not None and user.is_active and user.is_admin

    def _find_by_login(self, login: str) -> User | None:
        index: EmailIndex | UsernameIndex | None
        if "@" in login:
            index = self._events.find(EmailIndex.create_id(login), EmailIndex)
        else:
            index = self._events.find(UsernameIndex.create_id(login), UsernameIndex)
        return None if index is None else self._events.find(index.user_id, User)
