from datetime import datetime, timezone

from cruddur import data
from cruddur.errors import NotFound


class Messages:
    @staticmethod
    def run(user_sender_handle: str, user_receiver_handle: str) -> list[dict]:
        if user_receiver_handle not in data.USERS:
            raise NotFound("user_not_found")
        conversation = data.conversations(datetime.now(timezone.utc)).get(user_receiver_handle)
        return conversation["messages"] if conversation else []
