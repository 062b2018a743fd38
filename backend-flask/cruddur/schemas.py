"""Request bodies and queries, validated with pydantic."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

TTL_DURATIONS = {
    "30-days": timedelta(days=30),
    "7-days": timedelta(days=7),
    "3-days": timedelta(days=3),
    "1-day": timedelta(days=1),
    "12-hours": timedelta(hours=12),
    "3-hours": timedelta(hours=3),
    "1-hour": timedelta(hours=1),
}

CRUD_MAX_CHARS = 280
REPLY_MAX_CHARS = 1024
MESSAGE_MAX_CHARS = 1024
SEARCH_TERM_MAX_CHARS = 280
HANDLE_MAX_CHARS = 64


def storable(value: str) -> bool:
    """PostgreSQL's text cannot hold NUL, and no database a lone surrogate (it is not UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _storable(value: str) -> str:
    if not storable(value):
        raise ValueError("holds NUL or a lone surrogate, which no store keeps")
    return value


def text(max_length: int):
    # The limit counts the characters as sent, as the spec's maxLength does; the blanks
    # around them are trimmed after, and what is left must not be empty. The same text is
    # refused by every store, so SQLite and PostgreSQL answer alike.
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_storable),
                     AfterValidator(str.strip), StringConstraints(min_length=1)]


class Body(BaseModel):
    # Strict: a number is not a message. Unknown fields are ignored, as clients add them.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class CreateActivityBody(Body):
    message: text(CRUD_MAX_CHARS)
    ttl: Literal[tuple(TTL_DURATIONS)]


class CreateReplyBody(Body):
    message: text(REPLY_MAX_CHARS)


class CreateMessageBody(Body):
    user_receiver_handle: text(HANDLE_MAX_CHARS)
    message: text(MESSAGE_MAX_CHARS)


class SearchQuery(Body):
    search_term: text(SEARCH_TERM_MAX_CHARS) = Field(alias="term")
