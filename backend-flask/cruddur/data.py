"""The week-2 reference data: the seed of an empty database, with times relative to the seeding."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert

from cruddur.store.schema import activities, message_groups, messages, replies, users

USERS = {
    "andrewbrown": ("Andrew Brown", "0a1b6c0e-6a5d-4b86-9b0a-2f1c9d4e5a01"),
    "worf": ("Worf", "1c2d7e1f-7b6e-4c97-8c1b-3a2d0e5f6b02"),
    "garek": ("Garek", "2e3f8a2b-8c7f-4da8-9d2c-4b3e1f6a7c03"),
    "coco": ("Coco", "3a4b9c3d-9d8a-4eb9-8e3d-5c4f2a7b8d04"),
}
CLOUD_IS_FUN = "68f126b0-1ceb-4a33-88be-d90fa7109eee"
UNICORN = "9b8e2bc2-3a3c-4a0e-8f5c-2f6c2a1c7d11"


def user_uuid(handle: str) -> uuid.UUID:
    return uuid.UUID(USERS[handle][1])


def seed(connection: Connection, now: datetime) -> None:
    connection.execute(insert(users), [
        {"uuid": uuid.UUID(key), "handle": handle, "display_name": name, "created_at": now}
        for handle, (name, key) in USERS.items()])

    def crud(key, handle, message, age, life, likes=0, for_handle=None):
        return {"uuid": uuid.UUID(key), "user_uuid": user_uuid(handle), "message": message, "ttl": None,
                "likes_count": likes, "reposts_count": 0, "for_user_uuid": for_handle and user_uuid(for_handle),
                "created_at": now - age, "expires_at": now + life}

    connection.execute(insert(activities), [
        crud(CLOUD_IS_FUN, "andrewbrown", "Cloud is very fun!", timedelta(days=2), timedelta(days=5), likes=5),
        crud("66e12864-8c26-4c3a-9658-95a10f8fea67", "worf", "I am out of prune juice",
             timedelta(days=7), timedelta(days=9)),
        crud("248959df-3079-4947-b847-9e0892d1bab4", "garek", "My dear doctor, I am just simple tailor",
             timedelta(hours=1), timedelta(hours=12)),
        # The week-2 notifications feed: a crud for andrewbrown alone.
        crud(UNICORN, "coco", "I am white unicorn", timedelta(days=2), timedelta(days=5), likes=5,
             for_handle="andrewbrown"),
    ])
    connection.execute(insert(replies), [
        {"uuid": uuid.UUID(key), "activity_uuid": uuid.UUID(to), "user_uuid": user_uuid("worf"),
         "message": "This post has no honor!", "created_at": now - timedelta(days=2)}
        for key, to in (("26e12864-1c26-5c3a-9658-97a10f8fea67", CLOUD_IS_FUN),
                        ("2c7a6a1e-5f3b-4c2e-9d0e-7c1f4b8e2a90", UNICORN))])

    conversations = {
        ("worf", "417c360e-c4e6-4fce-873b-d2d71469b4ac"): [
            ("4e81c06a-db0f-4281-b4cc-98208537772a", "andrewbrown", "Cloud is fun!", timedelta(minutes=30)),
            ("5f1c1e0b-6a3b-4d1e-a0b4-6b0f0d7f2c31", "worf", "This platform is great!", timedelta(minutes=10)),
        ],
        ("garek", "24b95582-9e7b-4e0a-9ad1-639773ab7552"): [
            ("8a3f9d2e-1b7c-4e5a-9c6d-3e2f1a0b9c87", "garek", "Lies, my dear doctor, are the truth in disguise.",
             timedelta(hours=3)),
        ],
    }
    for (other, group), lines in conversations.items():
        first, second = sorted((user_uuid("andrewbrown"), user_uuid(other)))
        connection.execute(insert(message_groups).values(
            uuid=uuid.UUID(group), first_user_uuid=first, second_user_uuid=second, created_at=now - lines[0][3]))
        connection.execute(insert(messages), [
            {"uuid": uuid.UUID(key), "message_group_uuid": uuid.UUID(group), "user_uuid": user_uuid(handle),
             "message": text, "created_at": now - age}
            for key, handle, text, age in lines])
