"""The web app in a real headless Chromium, against ``ring run`` (every service its own process).

Three browser contexts (Party A, Party B, an administrator) go through the whole core loop by
clicking: register, deposit, draft a task (fee and total shown before publishing), publish and
watch the funding arrive without a reload, qualify and verify B, take the order, report
progress, upload vouchers (errors shown before upload), reject with a reason, resubmit, approve,
see the commission in B's wallet and request a payout; a second provider's dispute is resolved
by a split. axe-core runs in the main pages (0 serious or critical violations), bad input shows
messages (never a stack trace), and the main pages are screenshotted (``make screenshots``
writes them to docs/screenshots/).

Chromium comes from Debian (``apt-get install chromium fonts-wqy-microhei``; ``.ci/run``
installs it); without it these tests fail, they never skip.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create

# Each scenario waits on sagas and settlements across five services: on a busy two-core machine
# that takes minutes, not seconds.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

WEB = f"http://127.0.0.1:{SERVICE_PORTS['web']}"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PASSWORD = "correct horse 9!"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Chromium refuses a few well-known ports (10080 among them, the web port under
    # RING_PORT_OFFSET=2000); the web app's own port is always allowed.
    f"--explicitly-allowed-ports={SERVICE_PORTS['web']}",
]
#: Long enough for the saga (publish → escrow → published) and the settlement on a busy machine.
SLOW = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (Playwright's own browsers are not used)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail(
            "Chromium is not installed: the web tests need it "
            "(apt-get install -y chromium chromium-driver fonts-wqy-microhei; .ci/run does this)"
        )
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield found
        found.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: RING_SCREENSHOT_DIR (``make screenshots``), else a temp dir."""
    target = os.environ.get("RING_SCREENSHOT_DIR")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Person:
    """One browser context (its own cookies) with one page."""

    def __init__(self, browser: Browser, shots: Path, name: str, **options: Any) -> None:
        self.context = browser.new_context(base_url=WEB, locale="en-US", **options)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.shots = shots
        self.name = name
        self.email = f"{name}-{uuid4().hex[:8]}@ring.test"
        self.id = ""

    def go(self, path: str) -> Page:
        self.page.goto(path)
        return self.page

    def register(self, role: str, display_name: str) -> None:
        page = self.go("/register")
        page.get_by_label("publish tasks" if role == "party_a" else "do tasks", exact=False).check()
        page.get_by_label("Your name").fill(display_name)
        page.get_by_label("Email").fill(self.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page.locator(".flash")).to_contain_text("Your account is ready")

    def sign_in(self) -> None:
        page = self.go("/login")
        page.get_by_label("Email").fill(self.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".flash")).to_contain_text("Welcome back")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def accessible(self) -> None:
        """axe-core finds no serious or critical violation on the current page."""
        # Evaluated over the DevTools protocol: the pages' CSP forbids injected script tags.
        self.page.evaluate(AXE.read_text() + "\n;0")
        result = self.page.evaluate("async () => await axe.run(document)")
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{self.page.url}: {bad}"

    def no_trace(self) -> None:
        body = self.page.content()
        assert "Traceback" not in body
        assert self.page.locator("main").inner_text().strip(), f"blank page at {self.page.url}"


def png(seed: int) -> bytes:
    image = Image.new("RGB", (64, 48), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    for x in range(0, 64, 8):
        for y in range(seed % 7, 48, 9):
            image.putpixel((x, y), (255 - x * 3, y * 5, (x * y) % 256))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def create_admin(env: dict[str, str], browser: Browser, shots: Path) -> Person:
    admin = Person(browser, shots, "admin")
    admin_create(env, admin.email, PASSWORD)
    admin.sign_in()
    return admin


def qualify(provider: Person, admin: Person, shot: bool = False) -> None:
    """B submits a qualification; the admin finds B in the verification queue and verifies it."""
    page = provider.go("/profile")
    provider.id = page.get_by_test_id("provider-id").inner_text().strip()
    page.get_by_label("Kind").fill("licence")
    page.get_by_label("Reference number").fill(f"LIC-{uuid4().hex[:6]}")
    page.get_by_label("Skills").fill("labeling, english")
    page.get_by_role("button", name="Send for review").click()
    expect(page.get_by_test_id("verification")).to_contain_text("Pending review", timeout=SLOW)
    # The queue is read fresh: the submission is listed at once, no waiting.
    view = admin.go("/admin/providers")
    review = view.get_by_role("link", name=f"Review {provider.id[:8]}")
    expect(review).to_be_visible()
    if shot:
        admin.accessible()
        admin.shot("admin-verification-queue")
    review.click()
    view.get_by_role("button", name="Verify").click()
    expect(view.get_by_test_id("verification")).to_contain_text("Verified", timeout=SLOW)
    expect(view.get_by_role("link", name=f"Review {provider.id[:8]}")).to_have_count(0)


def wait(condition: Any, what: str, within: float = 60.0) -> None:
    from ring_runtime.testing import wait_until

    wait_until(condition, within=within, what=what)


def take(provider: Person, task_url: str) -> str:
    """B takes a slot of the task from its page; the order's URL."""
    page = provider.page

    def taken() -> bool:
        page.goto(task_url)
        button = page.get_by_role("button", name="Take this task")
        if button.count() == 0:
            return False
        button.click()
        return "/orders/" in page.url

    wait(taken, "B's order on the task (the verification reaches the task service)")
    return page.url.removeprefix(WEB)


def upload(provider: Person, order_url: str, seed: int) -> None:
    """B hands in two images; right after taking the order the voucher service may not know the
    order yet ("No such order" next to the files), so B tries again, as a person would."""
    page = provider.page

    def handed_in() -> bool:
        page.goto(order_url)
        files: list[FilePayload] = [
            {"name": f"work-{seed}.png", "mimeType": "image/png", "buffer": png(seed)},
            {"name": f"detail-{seed}.png", "mimeType": "image/png", "buffer": png(seed + 50)},
        ]
        page.get_by_label("Drop files here").set_input_files(files)
        page.get_by_label("Note", exact=True).last.fill(f"batch {seed}")
        page.get_by_role("button", name="Submit for review").click()
        page.wait_for_load_state()
        return page.locator(".flash").filter(has_text="Work handed in").count() == 1

    wait(handed_in, "the voucher accepted")


@pytest.fixture
def people(browser: Browser, shots: Path) -> Iterator[Any]:
    """Makes the test's browser contexts and closes them after it (their live streams too)."""
    made: list[Person] = []

    def person(name: str, **options: Any) -> Person:
        made.append(Person(browser, shots, name, **options))
        return made[-1]

    yield person
    for someone in made:
        someone.context.close()


@pytest.fixture(scope="module")
def admin(platform: dict[str, str], browser: Browser, shots: Path) -> Person:
    """An administrator, signed in (created with ``ring admin create``)."""
    return create_admin(platform, browser, shots)


def deposit(a: Person, amount: str, shown: str) -> None:
    page = a.go("/wallet")
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Deposit").click()
    expect(page.get_by_test_id("available")).to_have_text(shown, timeout=SLOW)


def draft(a: Person, title: str, commission: str, slots: str) -> Page:
    page = a.go("/tasks/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Requirements").fill("Draw a box around every car.")
    page.get_by_label("Acceptance standards").fill("95 % of the cars boxed.")
    page.get_by_label("Deadline").fill("2030-01-01T12:00")
    page.get_by_label("Skills").fill("labeling")
    page.get_by_label("Commission per slot").fill(commission)
    page.get_by_label("Slots").fill(slots)
    return page


def test_core_loop_deposit_payout_and_live_updates(people: Any, admin: Person) -> None:
    a = people("party-a")
    b = people("party-b", viewport={"width": 390, "height": 844})
    a.register("party_a", "Acme Data")
    b.register("party_b", "Bo Li")

    # A deposits ¥1,000.00 and drafts a two-slot task; the fee and total show before publishing.
    deposit(a, "1000", "¥1,000.00")
    page = draft(a, "Label 200 street photos", "100", "2")
    expect(page.get_by_test_id("total")).to_have_text("¥210.00")  # htmx preview, 5 % fee
    a.accessible()
    a.shot("a-new-task")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_test_id("total")).to_have_text("¥210.00")
    task_url = page.url.removeprefix(WEB)

    # Publish and stay on the page: the status moves to Published without a reload.
    page.get_by_role("button", name="Publish").click()
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("h2#terms .badge")).to_have_text("Published", timeout=SLOW)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    expect(page.get_by_test_id("reserved")).to_have_text("¥210.00")
    a.accessible()

    qualify(b, admin, shot=True)
    order_url = take(b, task_url)
    page = b.page
    expect(page.get_by_test_id("order-status")).to_contain_text("Accepted")

    # A watches the order while B reports progress: it arrives without a reload.
    a.go(order_url)
    a.page.evaluate("window.__sameDocument = true")
    page.get_by_label("Percent done").fill("40")
    page.get_by_label("Note", exact=True).first.fill("80 of 200 photos labelled")
    page.get_by_role("button", name="Report", exact=True).click()
    expect(a.page.get_by_test_id("progress")).to_contain_text("80 of 200", timeout=SLOW)
    # B asks A a question; it appears in A's open page too, and A answers.
    page.get_by_role("textbox", name="Write a message").fill("Do parked cars count?")
    page.get_by_role("button", name="Send").click()
    expect(a.page.locator(".messages")).to_contain_text("Do parked cars count?", timeout=SLOW)
    assert a.page.evaluate("window.__sameDocument === true")
    a.page.get_by_role("textbox", name="Write a message").fill("Yes, every car.")
    a.page.get_by_role("button", name="Send").click()
    expect(a.page.locator(".messages")).to_contain_text("Yes, every car.")
    a.shot("a-order")
    expect(b.go(order_url).locator(".messages")).to_contain_text("Yes, every car.")

    # Bad files dropped on the form are refused before upload, with the reason next to it.
    page = b.go(order_url)
    dropped = page.evaluate_handle(
        """() => {
            const files = new DataTransfer();
            files.items.add(new File(["not an image"], "notes.txt", {type: "text/plain"}));
            const big = new Uint8Array(11 * 1024 * 1024);
            files.items.add(new File([big], "huge.png", {type: "image/png"}));
            return files;
        }"""
    )
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": dropped})
    expect(page.locator(".chosen li")).to_have_count(2)
    expect(page.locator(".client-error")).to_contain_text("notes.txt")
    expect(page.locator(".client-error")).to_contain_text("huge.png is larger than 10 MB")
    page.get_by_role("button", name="Submit for review").click()
    assert page.url.endswith(order_url), "the upload was sent despite the errors"
    assert page.locator(".flash").count() == 0
    b.accessible()
    upload(b, order_url, 1)
    b.shot("b-order")

    # A reviews: file preview, rejects with a reason; B resubmits; A approves in one click.
    page = a.go(order_url)
    expect(page.locator(".voucher img").first).to_be_visible()
    assert page.locator(".voucher img").first.evaluate("img => img.naturalWidth") == 64
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".error").first).to_contain_text("Please give a reason")
    page.get_by_label("Reason").fill("Half the cars have no box.")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".flash")).to_contain_text("Sent back")
    page = b.go(order_url)
    expect(page.get_by_text("Reason: Half the cars have no box.")).to_be_visible()
    upload(b, order_url, 2)
    page = a.go(order_url)
    a.accessible()
    a.shot("a-voucher-review")
    page.get_by_role("button", name="Approve and pay").click()
    expect(page.get_by_test_id("order-status")).to_contain_text("Paid", timeout=SLOW)

    # B has the commission and asks for a payout; the statement lists both.
    page = b.go("/wallet")
    expect(page.get_by_test_id("available")).to_have_text("¥100.00", timeout=SLOW)
    page.get_by_label("Amount").fill("60")
    page.get_by_role("button", name="Request payout").click()
    expect(page.get_by_test_id("payout-status")).to_contain_text("Requested")
    expect(page.get_by_test_id("available")).to_have_text("¥40.00", timeout=SLOW)
    b.accessible()
    b.shot("b-wallet")

    # The analytics pages draw charts; B's board and profile; the admin's audit trail.
    page = a.go("/analytics")
    for chart in ("Tasks by status", "Commission (¥)", "Time from taking an order to payment"):
        expect(page.locator(f'svg.chart[aria-label^="{chart}"]')).to_be_visible()
    expect(page.get_by_test_id("median-completion")).to_contain_text("min")
    a.accessible()
    a.shot("a-analytics")
    page = b.page

    def recorded() -> bool:  # the performance record is a projection of the settlement
        page.goto("/analytics")
        done = page.get_by_test_id("orders-completed")
        return done.count() == 1 and done.inner_text() == "1"

    wait(recorded, "B's performance record counting the paid order")
    expect(page.locator('svg.chart[aria-label="Earnings (¥)"]')).to_be_visible()
    b.shot("b-analytics")
    a.go(task_url)
    a.shot("a-task")
    page = b.page

    def found() -> bool:  # the board is a projection of the task's events
        page.goto("/board?q=street+photos&skill=labeling")
        return page.get_by_role("link", name="Label 200 street photos").count() >= 1

    wait(found, "the task on B's board, found by search and skill")
    page.goto("/board?q=no+such+words")
    expect(page.locator(".empty")).to_be_visible()
    b.go("/board")
    b.accessible()
    b.shot("b-board")
    b.go("/profile")
    b.shot("b-profile")
    page = admin.go(f"/admin/audit?aggregate_id={order_url.rsplit('/', 1)[-1]}")
    expect(page.locator(".audit li").first).to_be_visible()
    admin.accessible()
    admin.shot("admin-audit")
    page = admin.go("/admin/analytics")
    expect(page.locator("svg.chart").first).to_be_visible()
    admin.accessible()
    admin.shot("admin-analytics")


def test_dispute_resolved_by_split(people: Any, admin: Person) -> None:
    """A provider's work is rejected; they dispute it; the admin splits 60/40."""
    a = people("party-a2")
    a.register("party_a", "Beta Ltd")
    deposit(a, "500", "¥500.00")
    page = draft(a, "Transcribe 20 receipts", "100", "1")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("h2#terms .badge")).to_have_text("Published", timeout=SLOW)
    task_url = page.url.removeprefix(WEB)
    b2 = people("party-b2")
    b2.register("party_b", "Wang Fang")
    qualify(b2, admin)
    order_url = take(b2, task_url)
    upload(b2, order_url, 3)
    page = a.go(order_url)
    page.get_by_label("Reason").fill("Wrong photos.")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".flash")).to_contain_text("Sent back")
    page = b2.page

    def disputable() -> bool:  # the rejection reaches the order a moment later
        page.goto(order_url)
        return page.get_by_label("Category").count() == 1

    wait(disputable, "the rejected order offering a dispute")
    page.get_by_label("Category").select_option("unfair_rejection")
    page.get_by_label("What went wrong?").fill("These are the photos of the brief.")
    page.get_by_role("button", name="Open a dispute").click()
    expect(page.get_by_test_id("dispute-status")).to_contain_text("Open")
    dispute_url = page.url.removeprefix(WEB)
    # B2 adds a file as evidence; the admin sees both sides' evidence and can download it.
    page.get_by_label("Add evidence").fill("The brief asked for these receipts.")
    page.get_by_label("Attach a file").set_input_files(
        {"name": "brief.png", "mimeType": "image/png", "buffer": png(7)}
    )
    page.get_by_role("button", name="Add evidence").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.get_by_test_id("evidence-file")).to_have_count(1)
    page = admin.go("/admin/disputes")
    expect(page.locator(f'a[href="{dispute_url}"]')).to_be_visible(timeout=SLOW)
    admin.accessible()
    admin.shot("admin-dispute-queue")
    page = admin.go(dispute_url)
    evidence = page.get_by_test_id("evidence-file")
    expect(evidence).to_have_count(1)
    download = admin.context.request.get(str(evidence.get_attribute("href")))
    assert download.status == 200
    assert download.body() == png(7)
    page.get_by_label("Split").check()
    page.get_by_label("Provider's share").fill("60")
    admin.shot("admin-dispute")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("Split", timeout=SLOW)
    expect(page.get_by_test_id("outcome")).to_contain_text("60 %")
    page = b2.go("/wallet")
    expect(page.get_by_test_id("available")).to_have_text("¥60.00", timeout=SLOW)


def test_bad_input_shows_messages_never_a_trace(platform: dict[str, str], people: Any) -> None:
    visitor = people("visitor")
    page = visitor.go("/login")
    page.get_by_label("Email").fill("nobody@ring.test")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#_form-error")).to_have_text("Email or password is wrong.")
    visitor.no_trace()
    page = visitor.go("/register")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#password-error")).to_contain_text("8 characters")
    visitor.accessible()
    visitor.register("party_a", "Zhang Wei")
    page = visitor.go("/wallet")
    page.get_by_label("Amount").fill("12.345")
    page.get_by_role("button", name="Deposit").click()
    expect(page.locator("#amount-error")).to_contain_text("120.50")
    page = visitor.go("/tasks/new")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#title-error")).to_be_visible()
    expect(page.locator("#commission-error")).to_be_visible()
    expect(page.locator("#deadline-error")).to_be_visible()
    # A draft that is not wanted any more is cancelled from its page.
    page = draft(visitor, "Not needed after all", "10", "1")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Cancel task").click()
    expect(page.locator("h2#terms .badge")).to_have_text("Cancelled", timeout=SLOW)
    for path in ("/tasks/not-a-uuid", f"/tasks/{uuid4()}", "/nowhere", "/admin/disputes"):
        response = page.goto(path)
        assert response is not None
        assert response.status in (403, 404), (path, response.status)
        visitor.no_trace()
        expect(page.locator("p.error")).to_be_visible()
    # A form posted without its CSRF token is refused with a message.
    answer = visitor.context.request.post("/wallet/deposits", form={"amount": "10"})
    assert answer.status == 403
    assert "The form expired" in answer.text()
    # Chinese: the whole page switches, and the choice sticks.
    page = visitor.go("/tasks")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("我的任务")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    visitor.go("/tasks/new")
    visitor.accessible()
    visitor.shot("zh-new-task")
    assert re.search("[\u4e00-\u9fff]", page.locator("main").inner_text())
