from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import data
from cruddur.errors import NotFound


class Messages:
    @staticmethod
    def run(user_sender_handle: str, user_receiver_handle: str) -> list[dict]:
        if user_receiver_handle not in data.USERS:
            raise NotFound("user_not_found")
        conversation = data.conversations(datetime.now(timezone.utc)).get(user_receiver_handle)
        results = conversation["messages"] if conversation else []
        trace.get_current_span().set_attributes({
            "app.user_handle": user_sender_handle, "app.receiver_handle": user_receiver_handle,
            "app.result_length": len(results),
        })
        return results
