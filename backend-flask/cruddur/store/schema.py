"""Cruddur's tables, as SQLAlchemy Core metadata: what the migrations create and the queries use."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        TypeDecorator, UniqueConstraint, Uuid)


class UtcDateTime(TypeDecorator):
    """A moment stored in UTC and read back timezone-aware, whichever database holds it.

    SQLite has no time zones: it keeps the UTC wall time and this type puts the zone back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: pass an aware one")
        utc = value.astimezone(timezone.utc)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# Named constraints, so later migrations can refer to them on every database.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
})

users = Table(
    "users", metadata,
    Column("uuid", Uuid, primary_key=True),
    Column("handle", String(64), nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

activities = Table(
    "activities", metadata,
    Column("uuid", Uuid, primary_key=True),
    Column("user_uuid", ForeignKey("users.uuid"), nullable=False),
    Column("message", Text, nullable=False),
    # The ttl the author chose; the week-2 seed cruds have only an expiry.
    Column("ttl", String(16)),
    Column("likes_count", Integer, nullable=False, default=0),
    Column("reposts_count", Integer, nullable=False, default=0),
    # A crud for one user only: the notifications feed, kept out of the public feeds.
    Column("for_user_uuid", ForeignKey("users.uuid")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_activities_created_at", "created_at"),
)

replies = Table(
    "replies", metadata,
    Column("uuid", Uuid, primary_key=True),
    Column("activity_uuid", ForeignKey("activities.uuid"), nullable=False, index=True),
    Column("user_uuid", ForeignKey("users.uuid"), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# A conversation between two users, stored once with the smaller uuid first.
message_groups = Table(
    "message_groups", metadata,
    Column("uuid", Uuid, primary_key=True),
    Column("first_user_uuid", ForeignKey("users.uuid"), nullable=False),
    Column("second_user_uuid", ForeignKey("users.uuid"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("first_user_uuid", "second_user_uuid", name="uq_message_groups_users"),
)

messages = Table(
    "messages", metadata,
    Column("uuid", Uuid, primary_key=True),
    Column("message_group_uuid", ForeignKey("message_groups.uuid"), nullable=False, index=True),
    Column("user_uuid", ForeignKey("users.uuid"), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
