import uuid
from datetime import datetime, timezone

from cruddur import data
from cruddur.errors import NotFound, validate
from cruddur.schemas import CreateMessageBody


class CreateMessage:
    @staticmethod
    def run(user_sender_handle: str, body: dict) -> dict:
        message = validate(CreateMessageBody, body)
        if message.user_receiver_handle not in data.USERS:
            raise NotFound("user_not_found")
        return data.message(str(uuid.uuid4()), user_sender_handle, message.message, datetime.now(timezone.utc))
