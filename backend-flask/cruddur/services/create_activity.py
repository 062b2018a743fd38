import uuid
from datetime import datetime, timezone

from sqlalchemy import insert

from cruddur import store
from cruddur.errors import validate
from cruddur.schemas import TTL_DURATIONS, CreateActivityBody
from cruddur.store import queries
from cruddur.store.schema import activities


class CreateActivity:
    @staticmethod
    def run(user_handle: str, body: dict) -> dict:
        crud = validate(CreateActivityBody, body)
        now = datetime.now(timezone.utc)
        key = uuid.uuid4()
        with store.writing() as connection:
            author = queries.ensure_user(connection, user_handle, now)
            connection.execute(insert(activities).values(
                uuid=key, user_uuid=author.uuid, message=crud.message, ttl=crud.ttl,
                created_at=now, expires_at=now + TTL_DURATIONS[crud.ttl]))
            (created,) = queries.activities_where(connection, now, activities.c.uuid == key)
        return created
