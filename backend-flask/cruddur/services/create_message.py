import uuid
from datetime import datetime, timezone

from sqlalchemy import insert

from cruddur import store
from cruddur.errors import NotFound, validate
from cruddur.schemas import CreateMessageBody
from cruddur.store import queries
from cruddur.store.schema import messages


class CreateMessage:
    @staticmethod
    def run(user_sender_handle: str, body: dict) -> dict:
        message = validate(CreateMessageBody, body)
        now = datetime.now(timezone.utc)
        with store.writing() as connection:
            receiver = queries.find_user(connection, message.user_receiver_handle)
            if receiver is None:
                raise NotFound("user_not_found")
            sender = queries.ensure_user(connection, user_sender_handle, now)
            row = {"uuid": uuid.uuid4(), "message_group_uuid": queries.ensure_group(connection, sender.uuid, receiver.uuid, now),
                   "user_uuid": sender.uuid, "message": message.message, "created_at": now}
            connection.execute(insert(messages).values(row))
        return queries.message_dict({**row, "handle": sender.handle, "display_name": sender.display_name})
