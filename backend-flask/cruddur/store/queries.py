"""The queries behind the services, as SQLAlchemy Core expressions: every value is a bound parameter."""
from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Row, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from cruddur.schemas import HANDLE_MAX_CHARS, storable
from cruddur.store.schema import activities, message_groups, messages, replies, users

# Newest first, and the uuid breaks ties so the order is the same on every call.
NEWEST_FIRST = (activities.c.created_at.desc(), activities.c.uuid)
FEED_LIMIT = 100


def find_user(connection: Connection, handle: str) -> Row | None:
    # A handle that could never have been stored is not looked up (PostgreSQL refuses NUL).
    if len(handle) > HANDLE_MAX_CHARS or not storable(handle):
        return None
    return connection.execute(select(users).where(users.c.handle == handle)).first()


def reply_dict(row: Mapping) -> dict:
    return {
        "uuid": str(row["uuid"]), "reply_to_activity_uuid": str(row["activity_uuid"]),
        "handle": row["handle"], "display_name": row["display_name"], "message": row["message"],
        "created_at": row["created_at"].isoformat(), "likes_count": 0, "replies_count": 0, "reposts_count": 0,
    }


def activities_where(connection: Connection, now: datetime, *conditions, limit: int = FEED_LIMIT) -> list[dict]:
    """Unexpired cruds matching `conditions`, newest first, each with its replies oldest first."""
    cruds = connection.execute(
        select(activities, users.c.handle, users.c.display_name)
        .join(users, users.c.uuid == activities.c.user_uuid)
        .where(activities.c.expires_at > now, *conditions)
        .order_by(*NEWEST_FIRST).limit(limit)).all()
    if not cruds:
        return []
    threads: dict[uuid.UUID, list[dict]] = {crud.uuid: [] for crud in cruds}
    for row in connection.execute(
            select(replies, users.c.handle, users.c.display_name)
            .join(users, users.c.uuid == replies.c.user_uuid)
            .where(replies.c.activity_uuid.in_(list(threads)))
            .order_by(replies.c.created_at, replies.c.uuid)):
        threads[row.activity_uuid].append(reply_dict(row._mapping))
    return [{
        "uuid": str(crud.uuid), "handle": crud.handle, "display_name": crud.display_name,
        "message": crud.message, "created_at": crud.created_at.isoformat(),
        "expires_at": crud.expires_at.isoformat(), "likes_count": crud.likes_count,
        "replies_count": len(threads[crud.uuid]), "reposts_count": crud.reposts_count,
        "replies": threads[crud.uuid],
    } for crud in cruds]


def public() -> ColumnElement[bool]:
    return activities.c.for_user_uuid.is_(None)


def search(term: str) -> ColumnElement[bool]:
    # autoescape: a `%` or `_` in the term is matched as itself, not as a wildcard.
    return activities.c.message.icontains(term, autoescape=True)


def message_dict(row: Mapping) -> dict:
    return {"uuid": str(row["uuid"]), "handle": row["handle"], "display_name": row["display_name"],
            "message": row["message"], "created_at": row["created_at"].isoformat()}


def pair(a: uuid.UUID, b: uuid.UUID) -> Sequence[uuid.UUID]:
    return sorted((a, b))


def group_of(connection: Connection, a: uuid.UUID, b: uuid.UUID):
    first, second = pair(a, b)
    return connection.execute(select(message_groups.c.uuid).where(
        message_groups.c.first_user_uuid == first, message_groups.c.second_user_uuid == second)).scalar()


def insert_once(connection: Connection, table, unique: list[str], **values) -> None:
    """Inserts the row unless one with the same `unique` columns exists, race-free across workers."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(table).values(uuid=uuid.uuid4(), **values)
                       .on_conflict_do_nothing(index_elements=unique))


def ensure_group(connection: Connection, a: uuid.UUID, b: uuid.UUID, now: datetime) -> uuid.UUID:
    group = group_of(connection, a, b)
    if group is None:
        first, second = pair(a, b)
        insert_once(connection, message_groups, ["first_user_uuid", "second_user_uuid"],
                    first_user_uuid=first, second_user_uuid=second, created_at=now)
        group = group_of(connection, a, b)
    return group


def ensure_user(connection: Connection, handle: str, now: datetime) -> Row:
    """The current user, made on first use when the configured handle is not a seeded one
    (until sign-up exists, CRUDDUR_USER_HANDLE names the user)."""
    user = find_user(connection, handle)
    if user is None:
        insert_once(connection, users, ["handle"], handle=handle, display_name=handle, created_at=now)
        user = find_user(connection, handle)
    return user


def conversation(connection: Connection, group: uuid.UUID) -> list[dict]:
    return [message_dict(row._mapping) for row in connection.execute(
        select(messages, users.c.handle, users.c.display_name)
        .join(users, users.c.uuid == messages.c.user_uuid)
        .where(messages.c.message_group_uuid == group)
        .order_by(messages.c.created_at, messages.c.uuid))]


def groups_of(connection: Connection, user: uuid.UUID) -> list[dict]:
    """The user's conversations, each with its latest message, the most recent first."""
    latest = select(
        messages.c.message_group_uuid, messages.c.message, messages.c.created_at,
        func.row_number().over(partition_by=messages.c.message_group_uuid,
                               order_by=(messages.c.created_at.desc(), messages.c.uuid.desc())).label("rank"),
    ).subquery()
    other = users.alias("other")
    rows = connection.execute(
        select(message_groups.c.uuid, other.c.handle, other.c.display_name, latest.c.message, latest.c.created_at)
        .join(latest, and_(latest.c.message_group_uuid == message_groups.c.uuid, latest.c.rank == 1))
        .join(other, or_(
            and_(message_groups.c.first_user_uuid == user, other.c.uuid == message_groups.c.second_user_uuid),
            and_(message_groups.c.second_user_uuid == user, other.c.uuid == message_groups.c.first_user_uuid)))
        .where(or_(message_groups.c.first_user_uuid == user, message_groups.c.second_user_uuid == user))
        .order_by(latest.c.created_at.desc(), message_groups.c.uuid))
    return [message_dict(row._mapping) for row in rows]
