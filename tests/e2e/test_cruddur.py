"""Cruddur as a person uses it: the built front end in Chromium, against the real backend."""
from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PLANTED_SECRET

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-home.png"
# Newest first. The session shares one store, so cruds posted by earlier tests come above them.
REFERENCE_CRUDS = ["My dear doctor, I am just simple tailor", "Cloud is very fun!", "I am out of prune juice"]


def crud(page: Page, author: str, message: str):
    """The crud's article: named by its author alone, told apart by its message."""
    messages = page.locator(":scope > .message", has_text=message)
    return page.get_by_role("article", name=f"Crud by {author}", exact=True).filter(has=messages)


def top_level_messages(page: Page):
    return page.get_by_role("list", name="Home feed").locator(":scope > li > article > .message")


def loaded_feed(page: Page) -> list[str]:
    """The home feed's messages, once it has loaded: the oldest reference crud is always last."""
    expect(top_level_messages(page).last).to_have_text(REFERENCE_CRUDS[-1])
    return top_level_messages(page).all_inner_texts()


def test_home_feed_shows_the_reference_cruds(page, tmp_path):
    page.goto("/")

    expect(top_level_messages(page)).to_contain_text(REFERENCE_CRUDS)
    cloud = crud(page, "Andrew Brown", "Cloud is very fun!")
    # Seeded to expire 5 days after the seeding, which was a moment ago: 4 whole days and more are left.
    expect(cloud.locator(":scope > .byline")).to_contain_text(re.compile(r"Andrew Brown@andrewbrown2dexpires in [45]d"))
    expect(cloud.get_by_role("list", name="Replies to @andrewbrown")).to_contain_text("This post has no honor!")
    # The README's copy is tracked: only UPDATE_SCREENSHOT=1 replaces it, so a test run leaves the tree clean.
    page.screenshot(path=SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / SCREENSHOT.name,
                    full_page=True)


def test_posting_a_crud_puts_it_at_the_top(page):
    message = f"Posted from Chromium {uuid.uuid4().hex[:8]}"
    page.goto("/")
    before = loaded_feed(page)

    page.get_by_role("button", name="Crud", exact=True).click()
    box = page.get_by_label("What would you like to say?")
    expect(box).to_be_focused()
    box.fill(message)
    expect(page.locator("#crud-message-counter")).to_have_text(f"{len(message)}/280")
    page.get_by_label("Expires after").select_option(label="1 hour")
    with page.expect_response(lambda r: r.url.endswith("/api/activities") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Post crud").click()

    assert posted.value.status == 200
    assert posted.value.request.post_data_json == {"message": message, "ttl": "1-hour"}
    expect(top_level_messages(page)).to_have_text([message, *before])
    expect(crud(page, "Andrew Brown", message).locator(".expires")).to_have_text("expires in 1h")
    # Stored: a reload shows it again.
    page.reload()
    expect(top_level_messages(page)).to_have_text([message, *before])


def test_a_blank_crud_shows_the_backends_reasons(page):
    page.goto("/")
    before = loaded_feed(page)
    page.get_by_role("button", name="Crud", exact=True).click()
    page.get_by_role("button", name="Post crud").click()

    expect(page.locator("#crud-message-errors")).to_have_text("Write a message first.")
    expect(top_level_messages(page)).to_have_text(before)


def test_a_reply_appears_under_its_crud(page):
    page.goto("/")
    prune = crud(page, "Worf", "I am out of prune juice")
    prune.get_by_role("button", name="Reply").click()
    form = prune.get_by_role("form", name="Reply to @worf")
    expect(form.get_by_label("Your reply")).to_be_focused()
    form.get_by_label("Your reply").fill("Have you tried the replicator?")
    form.get_by_role("button", name="Post reply").click()

    expect(prune.get_by_role("list", name="Replies to @worf")).to_contain_text("Have you tried the replicator?")
    expect(prune.locator(":scope > .counts")).to_contain_text("1 reply")
    page.reload()
    expect(prune.get_by_role("list", name="Replies to @worf")).to_contain_text("Have you tried the replicator?")


def test_a_user_page_and_a_conversation_load(page):
    page.goto("/")
    crud(page, "Garek", "My dear doctor, I am just simple tailor").get_by_role("link", name="Garek").click()
    expect(page).to_have_url(re.compile(r"/@garek$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Garek")
    expect(page.get_by_role("list", name="Cruds by @garek")).to_contain_text("My dear doctor, I am just simple tailor")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    page.get_by_role("list", name="Conversations").get_by_role("link", name=re.compile("Worf")).click()
    expect(page).to_have_url(re.compile(r"/messages/@worf$"))
    conversation = page.get_by_role("list", name="Messages with @worf")
    expect(conversation).to_contain_text("This platform is great!")

    page.get_by_label("Message", exact=True).fill("Qapla'!")
    page.get_by_role("button", name="Send").click()
    expect(conversation.get_by_role("listitem").last).to_contain_text("Qapla'!")


def test_an_unreachable_backend_shows_one_banner(page, backend):
    page.route(f"{backend.url}/**", lambda route: route.abort("connectionrefused"))
    page.goto("/")

    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text(f"Cruddur cannot reach its backend at {backend.url}")
    expect(page.get_by_role("heading", name="Home")).to_be_visible()

    page.unroute(f"{backend.url}/**")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    loaded_feed(page)


def test_an_answer_that_is_not_json_shows_what_went_wrong_and_a_retry(page, backend):
    home = f"{backend.url}/api/activities/home"
    page.route(home, lambda route: route.fulfill(status=200, content_type="text/html", body="<html>A proxy page</html>",
                                                 headers={"Access-Control-Allow-Origin": "*"}))
    page.goto("/")

    failure = page.get_by_role("alert")
    expect(failure.get_by_role("heading")).to_have_text("This page failed")
    expect(failure).to_contain_text("The backend answered GET /api/activities/home with 200 but not with JSON (text/html).")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    page.unroute(home)
    failure.get_by_role("button", name="Try again").click()
    # The session's backend stores what earlier tests posted: the reference cruds are the oldest.
    expect(top_level_messages(page)).to_contain_text(REFERENCE_CRUDS)
    expect(page.get_by_role("alert")).to_have_count(0)


def preflights(backend) -> Counter:
    """The CORS preflights the backend has answered so far, by path, from its access lines."""
    lines = [json.loads(line) for line in backend.read_output().splitlines() if line.startswith("{")]
    return Counter(line["path"] for line in lines if line.get("method") == "OPTIONS")


def test_repeated_navigation_sends_at_most_one_preflight_per_url(page, backend):
    """Every fetch carries traceparent, so the browser asks the backend first. Without
    Access-Control-Max-Age Chromium keeps the answer 5 s, so the visits span more than that."""
    pages = {"/": "/api/activities/home", "/notifications": "/api/activities/notifications",
             "/messages": "/api/message_groups"}
    before = preflights(backend)
    for visit in range(3):
        for path, api in pages.items():
            with page.expect_response(lambda response, api=api: response.url.endswith(api)):
                page.goto(path)
        if visit == 0:
            page.wait_for_timeout(6_000)
    # The access lines are written from a background thread.
    deadline = time.monotonic() + 5
    while set(preflights(backend) - before) != set(pages.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert preflights(backend) - before == Counter(pages.values())


def test_one_trace_holds_the_browser_fetch_and_the_backend_request(page, otlp):
    page.goto("/")
    loaded_feed(page)

    def home_pair(spans):
        fetches = {s["span_id"]: s for s in spans if s["service_name"] == "frontend-react-js" and s["kind"] == "CLIENT"
                   and (s["attributes"].get("http.url") or s["attributes"].get("url.full", "")).endswith("/api/activities/home")}
        servers = [s for s in spans if s["service_name"] == "backend-flask" and s["kind"] == "SERVER"
                   and s["parent_span_id"] in fetches and s["attributes"].get("http.route") == "/api/activities/home"]
        return [(fetches[s["parent_span_id"]], s) for s in servers]

    def page_load(spans):
        return [s for s in spans if s["service_name"] == "frontend-react-js" and s["name"] == "documentLoad"]

    spans = otlp.wait_for(lambda spans: home_pair(spans) and page_load(spans), timeout=20)
    fetch, server = home_pair(spans)[0]
    assert server["trace_id"] == fetch["trace_id"]
    assert fetch["attributes"].get("http.method", fetch["attributes"].get("http.request.method")) == "GET"
    # traceparent goes to the backend only: the browser's exports to the receiver carry none.
    browser_exports = [r for r in otlp.requests if r["headers"].get("content-type", "").startswith("application/json")]
    assert browser_exports
    assert not any("traceparent" in r["headers"] for r in browser_exports)


def test_the_bundle_carries_the_urls_and_no_secret(bundle, backend, otlp):
    code = "".join(path.read_text() for path in bundle.rglob("*.js"))
    assert backend.url in code
    assert otlp.url in code
    assert PLANTED_SECRET not in code
