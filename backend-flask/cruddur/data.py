"""The week-2 reference data, with times relative to the moment they are asked for.

Storage comes in a later step; until then every feed is built from these records.
"""
from __future__ import annotations

from datetime import datetime, timedelta

USERS = {
    "andrewbrown": "Andrew Brown",
    "worf": "Worf",
    "garek": "Garek",
    "coco": "Coco",
}


def user(handle: str) -> dict:
    return {"handle": handle, "display_name": USERS[handle]}


def reply(uuid: str, to: str, handle: str, message: str, created_at: datetime) -> dict:
    return {
        "uuid": uuid,
        "reply_to_activity_uuid": to,
        **user(handle),
        "message": message,
        "created_at": created_at.isoformat(),
        "likes_count": 0,
        "replies_count": 0,
        "reposts_count": 0,
    }


def activity(uuid: str, handle: str, message: str, created_at: datetime, expires_at: datetime,
             likes_count: int = 0, replies: list[dict] | None = None) -> dict:
    replies = replies or []
    return {
        "uuid": uuid,
        **user(handle),
        "message": message,
        "created_at": created_at.isoformat(),
        "expires_at": expires_at.isoformat(),
        "likes_count": likes_count,
        "replies_count": len(replies),
        "reposts_count": 0,
        "replies": replies,
    }


def home_activities(now: datetime) -> list[dict]:
    cloud_is_fun = "68f126b0-1ceb-4a33-88be-d90fa7109eee"
    return [
        activity(cloud_is_fun, "andrewbrown", "Cloud is very fun!",
                 now - timedelta(days=2), now + timedelta(days=5), likes_count=5,
                 replies=[reply("26e12864-1c26-5c3a-9658-97a10f8fea67", cloud_is_fun, "worf",
                                "This post has no honor!", now - timedelta(days=2))]),
        activity("66e12864-8c26-4c3a-9658-95a10f8fea67", "worf", "I am out of prune juice",
                 now - timedelta(days=7), now + timedelta(days=9)),
        activity("248959df-3079-4947-b847-9e0892d1bab4", "garek", "My dear doctor, I am just simple tailor",
                 now - timedelta(hours=1), now + timedelta(hours=12)),
    ]


def notification_activities(now: datetime) -> list[dict]:
    unicorn = "9b8e2bc2-3a3c-4a0e-8f5c-2f6c2a1c7d11"
    return [
        activity(unicorn, "coco", "I am white unicorn",
                 now - timedelta(days=2), now + timedelta(days=5), likes_count=5,
                 replies=[reply("2c7a6a1e-5f3b-4c2e-9d0e-7c1f4b8e2a90", unicorn, "worf",
                                "This post has no honor!", now - timedelta(days=2))]),
    ]


def message(uuid: str, handle: str, text: str, created_at: datetime) -> dict:
    return {"uuid": uuid, **user(handle), "message": text, "created_at": created_at.isoformat()}


def conversations(now: datetime) -> dict[str, dict]:
    """The current user's conversations, keyed by the other person's handle, oldest message first."""
    return {
        "worf": {"uuid": "417c360e-c4e6-4fce-873b-d2d71469b4ac", "messages": [
            message("4e81c06a-db0f-4281-b4cc-98208537772a", "andrewbrown", "Cloud is fun!",
                    now - timedelta(minutes=30)),
            message("5f1c1e0b-6a3b-4d1e-a0b4-6b0f0d7f2c31", "worf", "This platform is great!",
                    now - timedelta(minutes=10)),
        ]},
        "garek": {"uuid": "24b95582-9e7b-4e0a-9ad1-639773ab7552", "messages": [
            message("8a3f9d2e-1b7c-4e5a-9c6d-3e2f1a0b9c87", "garek", "Lies, my dear doctor, are the truth in disguise.",
                    now - timedelta(hours=3)),
        ]},
    }
