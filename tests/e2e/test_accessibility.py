"""Every page, in each state a person can bring it to, scanned by axe-core in Chromium: no
serious or critical violation. And a route change names the document and moves the focus."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import FRONTEND_DIR

pytestmark = pytest.mark.e2e

AXE = FRONTEND_DIR / "node_modules" / "axe-core" / "axe.min.js"


def open_crud_form(page: Page) -> None:
    page.get_by_role("button", name="Crud", exact=True).click()


def post_a_blank_crud(page: Page) -> None:
    open_crud_form(page)
    page.get_by_role("button", name="Post crud").click()
    expect(page.locator("#crud-message-errors")).to_be_visible()


def open_a_reply_form(page: Page) -> None:
    page.get_by_role("button", name="Reply").first.click()


def send_a_blank_message(page: Page) -> None:
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert").first).to_be_visible()


# (path, what to do there, what shows the page is in that state)
STATES = {
    "home": ("/", None, "Cloud is very fun!"),
    "home-crud-form": ("/", open_crud_form, "What would you like to say?"),
    "home-crud-errors": ("/", post_a_blank_crud, "Write a message first."),
    "home-reply-form": ("/", open_a_reply_form, "Your reply"),
    "notifications": ("/notifications", None, "Notifications"),
    "search": ("/search", None, "Search cruds"),
    "search-results": ("/search?term=cloud", None, "Cloud is very fun!"),
    "search-blank-term": ("/search?term=", None, "Type something to search for."),
    "messages": ("/messages", None, "New message"),
    "messages-errors": ("/messages", send_a_blank_message, "Say who the message is for."),
    "conversation": ("/messages/@worf", None, "This platform is great!"),
    "user": ("/@garek", None, "My dear doctor, I am just simple tailor"),
    "unknown-user": ("/@nobody", None, "There is no user @nobody."),
    "not-found": ("/no/such/page", None, "Back to the home feed"),
}


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations")
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            f"{[node['target'] for node in violation['nodes']]}"
            for violation in violations if violation["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("state", STATES)
def test_page_has_no_serious_accessibility_violation(page, state):
    path, action, ready = STATES[state]
    page.goto(path)
    if action:
        action(page)
    expect(page.get_by_text(ready, exact=True).first).to_be_visible()
    assert serious_violations(page) == []


def test_the_banner_and_a_failed_page_have_no_serious_accessibility_violation(page, backend):
    page.route(f"{backend.url}/api/activities/notifications",
               lambda route: route.fulfill(status=200, content_type="text/html", body="<html>A proxy page</html>",
                                           headers={"Access-Control-Allow-Origin": "*"}))
    page.goto("/notifications")
    expect(page.get_by_role("heading", name="This page failed")).to_be_visible()
    assert serious_violations(page) == []

    page.route(f"{backend.url}/**", lambda route: route.abort("connectionrefused"))
    page.goto("/")
    expect(page.get_by_text("Cruddur cannot reach its backend")).to_be_visible()
    assert serious_violations(page) == []


def test_a_route_change_names_the_document_and_focuses_its_heading(page):
    page.goto("/")
    expect(page).to_have_title("Home · Cruddur")
    expect(page.locator("h1")).not_to_be_focused()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    expect(page).to_have_title("Messages · Cruddur")
    expect(page.get_by_role("heading", level=1, name="Messages")).to_be_focused()

    page.get_by_role("list", name="Conversations").get_by_role("link", name=re.compile("Worf")).click()
    expect(page).to_have_title("Conversation with @worf · Cruddur")
    expect(page.get_by_role("heading", level=1)).to_be_focused()

    page.go_back()
    expect(page).to_have_title("Messages · Cruddur")
    expect(page.get_by_role("heading", level=1, name="Messages")).to_be_focused()
