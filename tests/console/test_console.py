"""The reviewer console end to end in a browser (R9, R17, R18, R19): sign in, the queue,
a withdrawal with its proof, signed decisions the workflow weighs, four-eyes, rejection,
self-review refused, CSRF and proof access refused without a session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect

from console.times import local_time
from models.business_days import PACKAGE_CALENDAR
from stack import Stack
from tests.api.conftest import Api
from tests.console.conftest import PERSONAL, REVIEWERS, under_review
from tests.launched import new_id

# docs/console.md's screenshots: refreshed with SAVE_SCREENSHOTS=1, so make test leaves the
# tree clean.
ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
SAVE_SCREENSHOTS = os.environ.get("SAVE_SCREENSHOTS") == "1"
SUCCESS_WAIT_SECONDS = 40.0
SHANGHAI = ZoneInfo("Asia/Shanghai")  # DISPLAY_TIMEZONE's default


def screenshot(page: Page, name: str) -> None:
    """Always taken (the page renders whole); kept under docs/ only when asked."""
    image = page.screenshot(full_page=True)
    assert image.startswith(b"\x89PNG")
    if SAVE_SCREENSHOTS:
        DOCS.mkdir(exist_ok=True)
        (DOCS / name).write_bytes(image)


def sign_in(page: Page, reviewer_id: str, password: str | None = None) -> None:
    page.goto("/console/queue")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.get_by_label("Reviewer ID", exact=True).fill(reviewer_id)
    page.get_by_label("Password", exact=True).fill(password or REVIEWERS[reviewer_id])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/console/queue"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("signed out")


def decide(page: Page, withdrawal_id: str, button: str, comment: str) -> None:
    page.goto(f"/console/withdrawals/{withdrawal_id}")
    page.get_by_label("Comment", exact=True).fill(comment)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator(".flash")).to_be_visible()


def wait_for_status(page: Page, withdrawal_id: str, status: str) -> None:
    """Reload the withdrawal page until the workflow reports ``status`` (R18)."""
    deadline = time.monotonic() + SUCCESS_WAIT_SECONDS
    badge = page.locator("h1 .status")
    while True:
        page.goto(f"/console/withdrawals/{withdrawal_id}")
        if badge.get_attribute("data-status") == status or time.monotonic() > deadline:
            expect(badge).to_have_attribute("data-status", status)
            return
        time.sleep(0.5)


def test_wrong_password_is_refused_and_the_right_one_signs_in(page: Page) -> None:
    page.goto("/console/queue")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.get_by_label("Reviewer ID", exact=True).fill("rev-1")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Authentication failed.")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    assert not [c for c in page.context.cookies() if c["name"] == "console_session"]
    sign_in(page, "rev-1")
    session = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"


def test_four_eyes_approval_in_the_browser_until_the_withdrawal_succeeds(
    page: Page, api: Api
) -> None:
    """R17 four-eyes: above the threshold the first approval leaves it under review ("1 of
    2"); a second, different reviewer's approval sends it to payout, and it succeeds."""
    withdrawal_id = under_review(api, "600.00", withdrawal_id=new_id("w-console-4eyes"))
    sign_in(page, "rev-1")
    link = page.get_by_role("link", name=withdrawal_id, exact=True)
    expect(link).to_be_visible()
    row = page.locator(f"tr[data-withdrawal='{withdrawal_id}']")
    expect(row).to_contain_text("¥600.00")
    expect(row).to_contain_text("0 of 2")
    expect(row).to_contain_text("the paying account is closed or cannot receive")
    expect(page).to_have_title(re.compile(r"^\(\d+\) Review queue"))
    expect(page.get_by_role("link", name=withdrawal_id, exact=True)).to_have_count(1)
    page.goto("/console/queue?route=bank")  # the filter by route hides an Alipay payout
    expect(page.get_by_role("link", name=withdrawal_id, exact=True)).to_have_count(0)
    page.goto("/console/queue")

    page.get_by_role("link", name=withdrawal_id, exact=True).click()
    web_ui = page.get_by_role("link", name="Open the workflow in the Temporal Web UI")
    assert web_ui.get_attribute("href") == (
        f"{api.stack.urls.ui}/namespaces/default/workflows/withdrawal-{withdrawal_id}"
    )
    proof = page.get_by_role("img", name="Proof 1")
    expect(proof).to_be_visible()
    assert proof.evaluate("image => image.complete && image.naturalWidth > 0")
    embedded = page.locator("object.pdf")
    expect(embedded).to_have_attribute("type", "application/pdf")
    expect(embedded).to_have_attribute("data", re.compile(r"/proofs/2$"))
    expect(page.locator(".facts")).to_contain_text("p***@example.com")  # masked payee (R9)
    expect(page.locator(".facts")).not_to_contain_text("payee.console@example.com")

    page.get_by_label("Comment", exact=True).fill("receipt matches the payer's closure letter")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".flash.accepted")).to_contain_text("approval 1 of 2")
    expect(page.locator("#approvals")).to_contain_text("1 of 2")
    expect(page.locator(".needs-second")).to_contain_text("second, different reviewer")
    expect(page.locator("h1 .status")).to_have_attribute("data-status", "under_review")
    screenshot(page, "console-withdrawal.png")

    decide(page, withdrawal_id, "Approve", "approving twice should not count")
    expect(page.locator(".flash.refused")).to_contain_text("ignored")
    expect(page.locator("#approvals")).to_contain_text("1 of 2")
    sign_out(page)

    sign_in(page, "rev-2")
    decide(page, withdrawal_id, "Approve", "second pair of eyes: fine")
    expect(page.locator(".flash.accepted")).to_contain_text("approval 2 of 2")
    wait_for_status(page, withdrawal_id, "succeeded")
    expect(page.locator("h1 .status")).to_have_text("succeeded 提现成功")


def test_rejection_needs_a_comment_and_releases_the_money(page: Page, api: Api) -> None:
    """R18/R19: a rejection carries its reason and the frozen money returns."""
    before = api.held(PERSONAL)
    withdrawal_id = under_review(api, "12.34", withdrawal_id=new_id("w-console-reject"))
    assert api.held(PERSONAL) != before
    sign_in(page, "rev-2")
    page.goto(f"/console/withdrawals/{withdrawal_id}")
    page.get_by_role("button", name="Reject", exact=True).click()  # no comment: not sent
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()
    expect(page.locator("h1 .status")).to_have_attribute("data-status", "under_review")
    token = page.locator("#decision-form input[name=csrf_token]").get_attribute("value")
    assert token
    bare = page.request.post(  # past the script: the server refuses it too
        f"/console/withdrawals/{withdrawal_id}/decision",
        form={"decision": "reject", "comment": "  ", "csrf_token": token},
    )
    assert bare.ok and "A rejection needs a comment" in bare.text()
    page.goto(f"/console/withdrawals/{withdrawal_id}")
    expect(page.locator("h1 .status")).to_have_attribute("data-status", "under_review")
    decide(page, withdrawal_id, "Reject", "the proof names another payer")
    wait_for_status(page, withdrawal_id, "rejected")
    expect(page.locator(".facts")).to_contain_text("the proof names another payer")
    assert api.held(PERSONAL) == before


def test_a_reviewer_under_the_applicants_real_name_cannot_approve(page: Page, api: Api) -> None:
    """R17: the workflow ignores the approval; the console shows it refused, with why."""
    withdrawal_id = under_review(api, "23.45", withdrawal_id=new_id("w-console-self"))
    sign_in(page, "rev-self")
    decide(page, withdrawal_id, "Approve", "looks fine to me")
    refused = page.locator(".flash.refused")
    expect(refused).to_contain_text("Refused")
    expect(refused).to_contain_text("same real name (R17)")
    expect(page.locator("h1 .status")).to_have_attribute("data-status", "under_review")
    expect(page.locator("#approvals")).to_contain_text("0 of 1")


def test_a_form_without_its_csrf_token_and_a_proof_without_a_session_are_refused(
    page: Page, api: Api
) -> None:
    withdrawal_id = under_review(api, "3.21", withdrawal_id=new_id("w-console-csrf"))
    proof_url = f"/console/withdrawals/{withdrawal_id}/proofs/1"
    anonymous = page.request.get(proof_url, max_redirects=0)
    assert anonymous.status == 401  # personal documents: never without a session

    sign_in(page, "rev-1")
    forged = page.request.post(
        f"/console/withdrawals/{withdrawal_id}/decision",
        form={"decision": "approve", "comment": "forged"},
        max_redirects=0,
    )
    assert forged.status == 403
    page.goto(f"/console/withdrawals/{withdrawal_id}")
    expect(page.locator("h1 .status")).to_have_attribute("data-status", "under_review")
    expect(page.locator("#approvals")).to_contain_text("0 of 1")

    shown = page.request.get(proof_url)
    assert shown.status == 200
    assert shown.headers["content-type"] == "image/png"  # sniffed from the bytes
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    pdf = page.request.get(f"/console/withdrawals/{withdrawal_id}/proofs/2")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert page.request.get(f"/console/withdrawals/{withdrawal_id}/proofs/3").status == 404


def test_queue_refreshes_itself_filters_and_reads_in_chinese_by_keyboard(
    page: Page, api: Api
) -> None:
    """Signed in with the keyboard alone; the queue shows a new withdrawal without a
    reload; filters by reason; in Chinese the statuses read as the CLI shows them (R18)
    and the accessible names stay English."""
    page.goto("/console/sign-in")
    expect(page.get_by_label("Reviewer ID", exact=True)).to_be_focused()  # autofocus
    page.keyboard.type("rev-2")
    page.keyboard.press("Tab")
    page.keyboard.type(REVIEWERS["rev-2"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/queue"))

    arriving = under_review(api, "45.60", withdrawal_id=new_id("w-console-new"))
    expect(page.get_by_role("link", name=arriving, exact=True)).to_be_visible()  # no reload
    count = page.locator("#queue tbody tr").count()
    expect(page).to_have_title(re.compile(rf"^\({count}\) Review queue"))
    page.get_by_label("Reason").select_option("risk")  # R17: same-identity overdue debt
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name=arriving, exact=True)).to_have_count(0)
    page.get_by_label("Reason").select_option("payer_account_closed")  # R9
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name=arriving, exact=True)).to_be_visible()
    page.goto("/console/queue")
    screenshot(page, "console-queue.png")

    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_contain_text("待审批队列")
    page.get_by_role("link", name=arriving, exact=True).click()
    expect(page.locator("h1 .status")).to_have_text("under_review 审批中")
    expect(page.get_by_label("Comment", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Reject", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    screenshot(page, "console-withdrawal-zh.png")


def console_page(api: Api, path: str, reviewer_id: str = "rev-1") -> str:
    """A console page as HTML over plain HTTP, signed in through the sign-in form."""
    with httpx.Client(base_url=api.stack.urls.http, timeout=api.http.timeout) as http:
        form = http.get("/console/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        signed_in = http.post(
            "/console/sign-in",
            data={
                "reviewer_id": reviewer_id,
                "password": REVIEWERS[reviewer_id],
                "csrf_token": token.group(1),
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        page = http.get(path)
        assert page.status_code == 200, page.text
        return page.text


def test_times_show_in_the_reviewers_zone_and_a_provisional_estimate_says_so(api: Api) -> None:
    """Issue 26: the console shows times in DISPLAY_TIMEZONE (Asia/Shanghai by default), short
    and with the zone named, while the API keeps ISO 8601 with offset; an estimate ending in
    a year no holiday calendar covers is marked provisional on the page and in the document."""
    withdrawal_id = under_review(api, "12.00", withdrawal_id=new_id("w-times"))
    doc = api.get(f"/v1/withdrawals/{withdrawal_id}").json()
    requested_iso = doc["timeline"][0]["at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", requested_iso)

    html = console_page(api, f"/console/withdrawals/{withdrawal_id}")
    requested = datetime.fromisoformat(requested_iso)
    shown = requested.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M CST")
    assert local_time(requested) == shown
    assert shown in html
    assert requested_iso not in html and "+00:00" not in html  # no raw UTC ISO strings

    arrival = datetime.fromisoformat(doc["expected_arrival"])
    provisional = not PACKAGE_CALENDAR.covers(arrival.astimezone(SHANGHAI).year)
    assert doc["expected_arrival_provisional"] is provisional
    assert ('class="badge provisional"' in html) is provisional
    assert local_time(arrival) in html


def test_a_reviewer_disabled_at_the_command_line_is_signed_out_at_once(
    page: Page, console_stack: Stack
) -> None:
    """Issue 26 item 2: ``reviewers disable`` runs in another process than the console's
    sessions; the console asks the database on each request, so the next page is the
    sign-in page, and signing in again fails."""
    leaver, password = new_id("rev-leaver")[:40], "leaver passphrase 2026"
    admin = {**console_stack.child_env(), "REVIEWER_PASSWORD": "demo-chen-2026"}  # rev-lead

    def reviewers(*args: str, stdin: str = "") -> None:
        done = subprocess.run(
            [sys.executable, "starter.py", "reviewers", *args, "--by", "rev-lead"],
            input=stdin,
            env=admin,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    reviewers("add", leaver, "--name", "Leaving Reviewer", "--password-stdin", stdin=password)
    sign_in(page, leaver, password)
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    reviewers("disable", leaver)
    page.goto("/console/queue")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.get_by_label("Reviewer ID", exact=True).fill(leaver)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Authentication failed.")
