"""Request bodies of the auth and users endpoints: every field bounded, unknown ones refused;
and what those endpoints answer, for the OpenAPI document only (never validated: the
handlers build their bodies themselves)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from api.schemas import Body
from api.text import Name, Text, one_line

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,30}$")]
# Bounded above: hashing an unbounded input is a denial of service.
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


def check_strength(password: str, *personal: str) -> None:
    """Refuse passwords that are short on variety or contain the account's own names."""
    if len(set(password)) < 5:
        raise ValueError("password is too weak: use more different characters")
    lowered = password.lower()
    for word in personal:
        if len(word) >= 3 and word.lower() in lowered:
            raise ValueError("password is too weak: it contains your username or email")


class RegisterBody(Body):
    email: Annotated[EmailStr, Field(max_length=254)]
    username: Username
    password: Password
    first_name: Name = ""
    last_name: Name = ""

    @model_validator(mode="after")
    def _strong_password(self) -> RegisterBody:
        check_strength(self.password, self.username, self.email.split("@")[0])
        return self


class LoginBody(Body):
    login: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=254),
        AfterValidator(one_line),
    ] = Field(description="Email or username")
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PasswordResetBody(Body):
    email: Annotated[EmailStr, Field(max_length=254)]


AccountToken = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PasswordResetConfirmBody(Body):
    token: AccountToken = Field(description="The token from the reset mail")
    new_password: Password

    @model_validator(mode="after")
    def _strong_password(self) -> PasswordResetConfirmBody:
        check_strength(self.new_password)  # the account's own names: checked once known
        return self


class VerifyEmailBody(Body):
    token: AccountToken = Field(description="The token from the verification mail")


class RefreshBody(Body):
    refresh_token: Token


class LogoutBody(Body):
    refresh_token: Token | None = None


AvatarUrl = Annotated[
    str,
    # An https URL, or the path of an avatar stored in the folder storage (/media/...): a
    # profile read and sent back unchanged must pass.
    StringConstraints(max_length=2048, pattern=r"^((https://|/media/)\S+)?$"),
    AfterValidator(one_line),
]


class ProfileBody(Body):
    """`avatar` is the seed's name for `avatar_url`; send one of them."""

    first_name: Name = ""
    last_name: Name = ""
    bio: Annotated[Text, StringConstraints(max_length=2000)] = ""
    avatar_url: AvatarUrl = ""
    avatar: AvatarUrl | None = Field(default=None, description="The seed's name for avatar_url")
    email: Annotated[EmailStr, Field(max_length=254)] | None = Field(
        default=None,
        description="A new address: a verification link is mailed to it, and it replaces "
        "the current one once verified (`pending_email` until then).",
    )

    @model_validator(mode="after")
    def _one_avatar(self) -> ProfileBody:
        if self.avatar is not None:
            if "avatar_url" in self.model_fields_set and self.avatar_url != self.avatar:
                raise ValueError("avatar and avatar_url name the same field: send one")
            self.avatar_url = self.avatar
        return self


class ChangePasswordBody(Body):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Password

    @model_validator(mode="after")
    def _strong_password(self) -> ChangePasswordBody:
        check_strength(self.new_password)
        return self


# --- Responses (the `data` of each success) ---------------------------------------------------


class AccountBody(BaseModel):
    """The caller's own account, email included."""

    id: UUID
    email: str
    email_verified: bool
    pending_email: str | None = Field(description="A new address awaiting verification")
    username: str
    first_name: str
    last_name: str
    bio: str
    avatar_url: str
    avatar: str = Field(description="The seed's name for avatar_url")
    is_active: bool
    version: int


class AvatarAccountBody(AccountBody):
    avatar_urls: dict[str, str] = Field(description="Each stored size (pixels) → its URL")


class TokensBody(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the access token expires")


class SessionBody(TokensBody):
    user_id: UUID


class RegisteredBody(BaseModel):
    id: UUID
    username: str


class LoggedOutBody(BaseModel):
    logged_out: Literal[True]


class DeactivatedBody(BaseModel):
    deactivated: Literal[True]


class ResetRequestedBody(BaseModel):
    """The same whether the address has an account or not."""

    accepted: Literal[True]
    message: str


class PasswordResetDoneBody(BaseModel):
    password_reset: Literal[True]


class EmailVerifiedBody(BaseModel):
    email: str
    email_verified: bool


class VerificationSentBody(BaseModel):
    sent: bool = Field(description="false when no address awaits verification")


class JsonWebKey(BaseModel):
    """An RSA public key (RFC 7517) that verifies the tokens signed with `kid`."""

    kty: Literal["RSA"]
    key_ops: list[str]
    n: str
    e: str
    kid: str
    use: Literal["sig"]
    alg: Literal["RS256"]


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey]
