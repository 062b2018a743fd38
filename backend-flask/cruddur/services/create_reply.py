import uuid
from datetime import datetime, timezone

from sqlalchemy import insert

from cruddur import store
from cruddur.errors import validate
from cruddur.schemas import CreateReplyBody
from cruddur.services.show_activity import find_activity
from cruddur.store import queries
from cruddur.store.schema import replies


class CreateReply:
    @staticmethod
    def run(user_handle: str, activity_uuid: str, body: dict) -> dict:
        reply = validate(CreateReplyBody, body)
        now = datetime.now(timezone.utc)
        with store.writing() as connection:
            find_activity(connection, activity_uuid, now)  # 404 for an unknown or expired crud
            author = queries.ensure_user(connection, user_handle, now)
            row = {"uuid": uuid.uuid4(), "activity_uuid": uuid.UUID(activity_uuid), "user_uuid": author.uuid,
                   "message": reply.message, "created_at": now}
            connection.execute(insert(replies).values(row))
        return queries.reply_dict({**row, "handle": author.handle, "display_name": author.display_name})
