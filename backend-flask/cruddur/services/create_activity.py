import uuid
from datetime import datetime, timezone

from cruddur import data
from cruddur.errors import validate
from cruddur.schemas import TTL_DURATIONS, CreateActivityBody


class CreateActivity:
    @staticmethod
    def run(user_handle: str, body: dict) -> dict:
        crud = validate(CreateActivityBody, body)
        now = datetime.now(timezone.utc)
        return data.activity(str(uuid.uuid4()), user_handle, crud.message, now, now + TTL_DURATIONS[crud.ttl])
