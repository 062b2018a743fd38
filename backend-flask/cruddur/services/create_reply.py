import uuid
from datetime import datetime, timezone

from cruddur import data
from cruddur.errors import validate
from cruddur.schemas import CreateReplyBody
from cruddur.services.show_activity import find_activity


class CreateReply:
    @staticmethod
    def run(user_handle: str, activity_uuid: str, body: dict) -> dict:
        reply = validate(CreateReplyBody, body)
        find_activity(activity_uuid)
        return data.reply(str(uuid.uuid4()), activity_uuid, user_handle, reply.message, datetime.now(timezone.utc))
