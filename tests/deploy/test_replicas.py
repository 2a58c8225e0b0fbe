"""Two replicas behind HAProxy (conftest's balancer) as a class meets them. A visitor's GAN run trains and streams
across many events, every answer from the replica its cookie names, while a second visitor lands on the other
replica and trains too; the page's origin check sees the visitor's host through the balancer; a class of 20 through
the balancer gets no errors; stopping one replica moves only its visitors: its playing page says the server went
away (and then reloads itself, on the survivor), the other visitor trains on untouched, and a new visitor lands on
the survivor. The last test stops a replica, so it runs last."""
import time

import httpx

from benchmarks.classroom import lesson
from tests.browser.test_convolution import wait_for_text
from tests.browser.test_gan_tab import PLANE, counts, drawn, press, wait_for_counts, wait_for_drawn
from tests.browser.test_number_boxes import settle
from tests.browser.test_restart import GONE, STATUS

COOKIE = "glassbox-replica"          # deploy/haproxy.cfg's
STUDENTS, LESSON_S = 20, 30
NOTED = "gb-test status: "
# Each text the element `sel` shows, written to the console (prefixed) as it changes.
OBSERVE = """([sel, prefix]) => { const el = document.querySelector(sel);
  new MutationObserver(() => console.log(prefix + el.textContent))
    .observe(el, {childList: true, characterData: true, subtree: true}); }"""


def pump_until(page, condition, timeout_s: float = 120) -> None:
    """Wait until `condition()` holds, letting playwright deliver the page's events (console messages, loads)
    meanwhile, which it does only inside its own calls."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(200)


class Visitor:
    """A person's browser: a page in a context of its own (its own cookies, so its own replica), which notes the
    replica that sent each answer it gets (HAProxy's X-Glassbox-Replica)."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.set_default_timeout(60_000)
        self.served = []
        self.page.on("response", lambda r: self.served.append(r.headers.get("x-glassbox-replica"))
                     if r.url.startswith(url) else None)
        self.page.goto(url)
        self.page.wait_for_selector("#gb-device", state="visible", timeout=120_000)

    def replica(self) -> str:
        return next(c["value"] for c in self.page.context.cookies() if c["name"] == COOKIE)

    def open_gan(self) -> None:
        """Open the GAN tab and wait for its first picture: the tab's opening event draws it, and a play pressed
        before that event's answer would be overwritten by it."""
        self.page.get_by_role("tab", name="GAN", exact=True).click()
        self.page.wait_for_selector(PLANE, state="visible")
        settle(self.page)
        wait_for_counts(self.page, (0, 0, 0))

    def play(self) -> None:
        """Press Play and wait until 20 pictures of the run's stream have been drawn."""
        before = drawn(self.page)
        press(self.page, "#gan-play")
        wait_for_text(self.page, STATUS, "Training…")
        wait_for_drawn(self.page, before + 20, timeout=120_000)

    def pause(self) -> tuple[int, int, int]:
        """Press Pause; the run's count once the page has settled."""
        press(self.page, "#gan-pause")
        wait_for_text(self.page, "#gan-status", "^Paused\\.")
        settle(self.page)
        return counts(self.page)


def test_each_visitor_stays_on_one_replica_while_its_gan_run_trains(browser, balancer):
    a = Visitor(browser, balancer.url)
    b = Visitor(browser, balancer.url)
    assert {a.replica(), b.replica()} == set(balancer.replicas)   # a new visitor goes to the next replica
    for visitor in (a, b):
        visitor.open_gan()
    a.play()
    b.play()
    first = a.pause()
    a.play()
    wait_for_drawn(b.page, drawn(b.page) + 20)   # b's run trains on meanwhile
    second = a.pause()
    assert second[0] > first[0] > 0
    i, d, g = second
    a.page.locator("#gan-step").click()
    wait_for_counts(a.page, (i + 1, d + 1, g + 1))
    b.pause()
    for visitor in (a, b):   # every answer, streams included, came from the visitor's own replica
        assert set(visitor.served) == {visitor.replica()}, visitor.served
        visitor.page.close()


def test_the_origin_check_sees_the_visitors_host_through_the_balancer(balancer):
    """HAProxy passes the Host header on as the visitor sent it: the page's own origin may call, others may not."""
    for origin, status in ((balancer.url, 200), ("https://evil.example", 403)):
        assert httpx.get(f"{balancer.url}/config", headers={"origin": origin}, timeout=30).status_code == status


def test_a_class_of_20_through_the_balancer_gets_no_errors(balancer):
    """benchmarks.classroom's lesson, shorter: each replica warmed at its own address, then 20 students (each a
    client with its own cookies) through the balancer; both replicas serve a share of them."""
    before = {name: int(row["hrsp_2xx"]) for name, row in balancer.stat().items()}
    result = lesson(balancer.url, STUDENTS, LESSON_S, warm=[app.url for app in balancer.replicas.values()])
    assert result["errors"] == 0, result["first_errors"]
    served = {name: int(row["hrsp_2xx"]) - before[name] for name, row in balancer.stat().items()}
    assert min(served.values()) > result["calls"] / 4, (served, result["calls"])
    print(f"{result['calls']} calls, answers per replica {served}")


def test_stopping_a_replica_moves_only_its_visitors(browser, balancer):
    a = Visitor(browser, balancer.url)
    b = Visitor(browser, balancer.url)
    for visitor in (a, b):
        visitor.open_gan()
        visitor.play()
    gone, survivor = a.replica(), b.replica()
    # What a's view says, noted as it changes: the page does not stay to be asked (below).
    said, loads = [], []
    a.page.on("console", lambda m: said.append(m.text.removeprefix(NOTED)) if m.text.startswith(NOTED) else None)
    a.page.on("load", lambda page: loads.append(page.url))
    a.page.evaluate(OBSERVE, [STATUS, NOTED])
    balancer.stop_replica(gone)   # returns once HAProxy's checks have taken it out of rotation

    pump_until(a.page, lambda: GONE in said)   # a's stream was cut: its view said so, and what to do
    frames = drawn(b.page)
    wait_for_drawn(b.page, frames + 20)   # b's run trains and streams on, untouched
    assert "Training…" in b.page.locator(STATUS).inner_text()
    assert set(b.served) == {survivor}

    c = Visitor(browser, balancer.url)   # a new visitor goes to the survivor
    assert c.replica() == survivor
    # a's page lost its event's stream too, and gradio's page then reloads itself once the server answers again:
    # HAProxy sends it to the survivor, with the survivor's cookie.
    pump_until(a.page, lambda: loads)
    a.page.wait_for_selector("#gb-device", state="visible", timeout=120_000)
    assert a.replica() == survivor
    for visitor in (a, b, c):
        visitor.page.close()
