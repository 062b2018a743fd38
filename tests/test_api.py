"""Every route of the API through Flask's test client: shapes, validation and bad input."""
import io
from datetime import datetime, timedelta

import pytest

CLOUD_IS_FUN = "68f126b0-1ceb-4a33-88be-d90fa7109eee"
PRUNE_JUICE = "66e12864-8c26-4c3a-9658-95a10f8fea67"
TAILOR = "248959df-3079-4947-b847-9e0892d1bab4"
ACTIVITY_KEYS = {"uuid", "handle", "display_name", "message", "created_at", "expires_at",
                 "likes_count", "replies_count", "reposts_count", "replies"}


def aware(timestamp: str) -> datetime:
    parsed = datetime.fromisoformat(timestamp)
    assert parsed.utcoffset() is not None, f"{timestamp} has no timezone"
    return parsed


def test_home_is_the_week2_reference_feed(client):
    response = client.get("/api/activities/home")
    assert response.status_code == 200
    feed = response.get_json()
    # Newest first, as stored cruds are served (week 2 listed them in a fixed order).
    assert [(a["uuid"], a["handle"], a["message"]) for a in feed] == [
        (TAILOR, "garek", "My dear doctor, I am just simple tailor"),
        (CLOUD_IS_FUN, "andrewbrown", "Cloud is very fun!"),
        (PRUNE_JUICE, "worf", "I am out of prune juice"),
    ]
    assert all(set(a) == ACTIVITY_KEYS for a in feed)
    cloud = feed[1]
    assert cloud["display_name"] == "Andrew Brown"
    assert (cloud["likes_count"], cloud["replies_count"]) == (5, 1)
    assert [(r["handle"], r["message"], r["reply_to_activity_uuid"]) for r in cloud["replies"]] == [
        ("worf", "This post has no honor!", CLOUD_IS_FUN)]
    created, expires = aware(cloud["created_at"]), aware(cloud["expires_at"])
    assert expires - created == timedelta(days=7)
    assert abs(datetime.now(created.tzinfo) - created - timedelta(days=2)) < timedelta(minutes=1)


def test_notifications_feed(client):
    feed = client.get("/api/activities/notifications").get_json()
    assert feed and all(set(a) == ACTIVITY_KEYS for a in feed)
    assert feed[0]["message"] == "I am white unicorn"


@pytest.mark.parametrize(("handle", "messages"), [
    ("andrewbrown", ["Cloud is very fun!"]),
    ("worf", ["I am out of prune juice"]),
    ("coco", []),
])
def test_user_activities_are_that_users_cruds(client, handle, messages):
    response = client.get(f"/api/activities/@{handle}")
    assert response.status_code == 200
    assert [a["message"] for a in response.get_json()] == messages


def test_unknown_user_is_404(client):
    response = client.get("/api/activities/@nobody")
    assert (response.status_code, response.get_json()) == (404, ["user_not_found"])


def test_search_matches_messages_case_insensitively(client):
    response = client.get("/api/activities/search?term=PRUNE")
    assert response.status_code == 200
    assert [a["uuid"] for a in response.get_json()] == [PRUNE_JUICE]
    assert client.get("/api/activities/search?term=zebra").get_json() == []


@pytest.mark.parametrize("query", ["", "?term=", "?term=%20%20", "?other=x"])
def test_blank_search_is_422(client, query):
    response = client.get(f"/api/activities/search{query}")
    assert (response.status_code, response.get_json()) == (422, ["search_term_blank"])


def test_overlong_search_term_is_422(client):
    response = client.get("/api/activities/search", query_string={"term": "x" * 281})
    assert (response.status_code, response.get_json()) == (422, ["search_term_exceed_max_chars"])


@pytest.mark.parametrize(("ttl", "lifetime"), [
    ("30-days", timedelta(days=30)), ("7-days", timedelta(days=7)), ("3-days", timedelta(days=3)),
    ("1-day", timedelta(days=1)), ("12-hours", timedelta(hours=12)), ("3-hours", timedelta(hours=3)),
    ("1-hour", timedelta(hours=1)),
])
def test_create_activity_expires_after_its_ttl(client, ttl, lifetime):
    response = client.post("/api/activities", json={"message": "  Hello Cruddur  ", "ttl": ttl})
    assert response.status_code == 200
    crud = response.get_json()
    assert set(crud) == ACTIVITY_KEYS
    assert (crud["handle"], crud["message"], crud["replies"]) == ("andrewbrown", "Hello Cruddur", [])
    assert aware(crud["expires_at"]) - aware(crud["created_at"]) == lifetime


def test_current_user_is_configurable(make_app):
    client = make_app({"CRUDDUR_USER_HANDLE": "worf"}).test_client()
    crud = client.post("/api/activities", json={"message": "Qapla'", "ttl": "1-day"}).get_json()
    assert (crud["handle"], crud["display_name"]) == ("worf", "Worf")


@pytest.mark.parametrize(("body", "codes"), [
    ({}, ["message_blank", "ttl_blank"]),
    ({"message": "", "ttl": ""}, ["message_blank", "ttl_blank"]),
    ({"message": "   ", "ttl": "7-days"}, ["message_blank"]),
    ({"message": None, "ttl": None}, ["message_blank", "ttl_blank"]),
    ({"message": "x" * 281, "ttl": "7-days"}, ["message_exceed_max_chars"]),
    ({"message": "x" * 281, "ttl": "2-weeks"}, ["message_exceed_max_chars", "ttl_invalid"]),
    ({"message": 42, "ttl": ["7-days"]}, ["message_invalid", "ttl_invalid"]),
    ({"message": {"text": "hi"}, "ttl": 7}, ["message_invalid", "ttl_invalid"]),
])
def test_create_activity_reports_every_error(client, body, codes):
    response = client.post("/api/activities", json=body)
    assert (response.status_code, response.get_json()) == (422, codes)


def test_280_characters_is_the_limit_not_281(client):
    ok = client.post("/api/activities", json={"message": "é" * 280, "ttl": "1-hour"})
    assert ok.status_code == 200 and len(ok.get_json()["message"]) == 280


def test_show_activity_with_its_replies(client):
    response = client.get(f"/api/activities/{CLOUD_IS_FUN}")
    assert response.status_code == 200
    crud = response.get_json()
    assert (crud["message"], [r["message"] for r in crud["replies"]]) == (
        "Cloud is very fun!", ["This post has no honor!"])


@pytest.mark.parametrize("path", [
    "/api/activities/00000000-0000-4000-8000-000000000000",
    "/api/activities/not-a-uuid",
    "/api/activities/..%2F..%2Fetc%2Fpasswd",
])
def test_unknown_or_malformed_activity_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json() in (["activity_not_found"], ["not_found"])


def test_reply(client):
    response = client.post(f"/api/activities/{TAILOR}/reply", json={"message": "Garak, you're a spy."})
    assert response.status_code == 200
    reply = response.get_json()
    assert (reply["reply_to_activity_uuid"], reply["handle"], reply["message"]) == (
        TAILOR, "andrewbrown", "Garak, you're a spy.")


@pytest.mark.parametrize(("body", "codes"), [
    ({}, ["message_blank"]),
    ({"message": "x" * 1025}, ["message_exceed_max_chars"]),
    ({"message": True}, ["message_invalid"]),
])
def test_reply_validation(client, body, codes):
    response = client.post(f"/api/activities/{TAILOR}/reply", json=body)
    assert (response.status_code, response.get_json()) == (422, codes)


def test_reply_to_unknown_crud_is_404(client):
    response = client.post("/api/activities/00000000-0000-4000-8000-000000000000/reply", json={"message": "hi"})
    assert (response.status_code, response.get_json()) == (404, ["activity_not_found"])


def test_message_groups(client):
    groups = client.get("/api/message_groups").get_json()
    assert {g["handle"] for g in groups} == {"worf", "garek"}
    assert all(set(g) == {"uuid", "handle", "display_name", "message", "created_at"} for g in groups)
    assert [g["created_at"] for g in groups] == sorted((g["created_at"] for g in groups), reverse=True)


def test_conversation_uses_the_path_handle(client):
    response = client.get("/api/messages/@worf")
    assert response.status_code == 200
    assert [m["message"] for m in response.get_json()] == ["Cloud is fun!", "This platform is great!"]
    assert client.get("/api/messages/@coco").get_json() == []
    missing = client.get("/api/messages/@nobody")
    assert (missing.status_code, missing.get_json()) == (404, ["user_not_found"])


def test_create_message(client):
    response = client.post("/api/messages", json={"user_receiver_handle": "worf", "message": "Today is a good day"})
    assert response.status_code == 200
    message = response.get_json()
    assert (message["handle"], message["message"]) == ("andrewbrown", "Today is a good day")
    aware(message["created_at"])


@pytest.mark.parametrize(("body", "status", "codes"), [
    ({}, 422, ["user_receiver_handle_blank", "message_blank"]),
    ({"user_receiver_handle": "worf", "message": "x" * 1025}, 422, ["message_exceed_max_chars"]),
    ({"user_receiver_handle": 7, "message": "hi"}, 422, ["user_receiver_handle_invalid"]),
    ({"user_receiver_handle": "nobody", "message": "hi"}, 404, ["user_not_found"]),
    ({"user_reciever_handle": "worf", "message": "hi"}, 422, ["user_receiver_handle_blank"]),
])
def test_create_message_errors(client, body, status, codes):
    response = client.post("/api/messages", json=body)
    assert (response.status_code, response.get_json()) == (status, codes)


@pytest.mark.parametrize(("kwargs", "status", "codes"), [
    ({"data": "{", "content_type": "application/json"}, 400, ["body_malformed_json"]),
    ({"data": "", "content_type": "application/json"}, 400, ["body_blank"]),
    ({"data": "[1, 2]", "content_type": "application/json"}, 400, ["body_not_object"]),
    ({"data": '"text"', "content_type": "application/json"}, 400, ["body_not_object"]),
    ({"data": "null", "content_type": "application/json"}, 400, ["body_not_object"]),
    ({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, 400, ["body_malformed_json"]),
    ({"data": '{"message": 1' + "0" * 5000 + "}", "content_type": "application/json"}, 400, ["body_malformed_json"]),
    ({"data": b"\xff\xfe{", "content_type": "application/json"}, 400, ["body_malformed_json"]),
    ({"data": "message=hi&ttl=7-days", "content_type": "application/x-www-form-urlencoded"}, 415, ["content_type_not_json"]),
    ({}, 415, ["content_type_not_json"]),
    ({"data": '{"message": "' + "x" * (1024 * 1024) + '"}', "content_type": "application/json"}, 413, ["request_entity_too_large"]),
])
@pytest.mark.parametrize("path", ["/api/activities", f"/api/activities/{TAILOR}/reply", "/api/messages"])
def test_bad_bodies_get_a_clear_4xx(client, path, kwargs, status, codes):
    response = client.post(path, **kwargs)
    assert (response.status_code, response.get_json()) == (status, codes)


def test_a_chunked_body_over_the_limit_is_413_not_cut_short(client):
    # No Content-Length: Werkzeug reads up to the limit and stops, and the JSON would look malformed.
    body = b'{"message": "' + b"x" * (2 * 1024 * 1024) + b'", "ttl": "1-day"}'
    response = client.post("/api/activities", input_stream=io.BytesIO(body), content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert (response.status_code, response.get_json()) == (413, ["request_entity_too_large"])


def test_huge_numbers_are_a_type_error_not_a_crash(client):
    response = client.post("/api/activities", data='{"message": 1e999, "ttl": 12345678901234567890}',
                           content_type="application/json")
    assert (response.status_code, response.get_json()) == (422, ["message_invalid", "ttl_invalid"])


def test_unicode_round_trips_and_nul_is_refused(client):
    response = client.post("/api/activities", json={"message": "✨ 日本 \u202e \U0001f600", "ttl": "1-day"})
    assert response.status_code == 200
    assert response.get_json()["message"] == "✨ 日本 \u202e \U0001f600"
    # PostgreSQL's text cannot hold NUL: every store refuses it alike.
    response = client.post("/api/activities", json={"message": "nul\x00", "ttl": "1-day"})
    assert (response.status_code, response.get_json()) == (422, ["message_invalid"])


def test_unknown_route_is_json_404(client):
    response = client.get("/api/nope")
    assert (response.status_code, response.get_json()) == (404, ["not_found"])


def test_wrong_method_is_json_405_with_allow(client):
    response = client.delete("/api/activities/home")
    assert (response.status_code, response.get_json()) == (405, ["method_not_allowed"])
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_head_works_on_feeds(client):
    response = client.head("/api/activities/home")
    assert response.status_code == 200 and response.data == b""


def test_health_lists_integrations(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    assert isinstance(response.get_json()["integrations"], dict)
