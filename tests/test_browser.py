"""The web UI in real headless Chromium (Debian's, driven by Selenium), against `storyline serve`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--window-size=1280,1400",
)
COUNCIL = """date 2024-04-02

Council vote <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">

The council voted on the harbour plan on Tuesday evening after a long debate about parking and the marina.

<script>window.__xss = 3; document.title = 'owned'</script> Residents filled the public gallery to hear the vote.

<img src=x onerror="window.__xss = 4"> Councillors said a final decision on the marina would follow next month.
"""
LATER = """date 2026-01-10

Kim's pledge to Putin draws warnings from Seoul

South Korea warned on Saturday that Kim Jong Un's pledge to unconditionally support Vladimir Putin and all
his policies deepened the military ties between Pyongyang and Moscow, a day after North Korean state media
published the letter. Officials in Seoul said they were watching for further arms shipments to Russia.
"""

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip(f"Debian chromium/chromium-driver not installed ({CHROMIUM}, {CHROMEDRIVER})", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import NoAlertPresentException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run the storyline command."""
    return subprocess.run([sys.executable, "-m", "storyline", *args], capture_output=True, text=True, timeout=300)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "council.txt").write_text(COUNCIL, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, seeds, inputs) -> tuple[str, Path]:
    """`storyline serve` on a free loopback port over the ingested seeds; yields (base URL, database)."""
    db = tmp_path_factory.mktemp("browser") / "ui.db"
    done = cli("ingest", "--db", str(db), "--ner", "fast", str(seeds), str(inputs / "council.txt"))
    assert done.returncode == 0, done.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyline", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/api/v1/stories", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"storyline serve did not start: {proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.1)
        yield base, db
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _replaced(old):
    """A wait condition: the page that held `old` has been replaced."""

    def check(_browser) -> bool:
        try:
            return expected_conditions.staleness_of(old)(_browser)
        except WebDriverException as err:
            # Chromium answers so when the old document goes away in the middle of the check itself
            # (seen once in CI): the page was replaced, which is what the wait is for.
            if "does not belong to the document" in str(err):
                return True
            raise

    return check


def navigate(browser, action) -> None:
    """Do something that loads a new page (click a link, submit a form) and wait until it has."""
    old = browser.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(browser, 20).until(_replaced(old))


def open_seed_story(browser, base: str) -> None:
    """From the stories page, click the story whose latest event is the January 2026 letter."""
    browser.get(base + "/")
    card = browser.find_element(By.XPATH, "//li[@class='story-card'][.//p[@class='latest']/time[text()='2026-01-09']]")
    navigate(browser, card.find_element(By.CSS_SELECTOR, "h2 a").click)


def events_on_page(browser) -> list[tuple[str, str, str]]:
    """(date, title, counts line) of each event on a story page."""
    out = []
    for li in browser.find_elements(By.CSS_SELECTOR, "ol.timeline li.event"):
        out.append((
            li.find_element(By.CSS_SELECTOR, ".when time").text,
            li.find_element(By.CSS_SELECTOR, "h2 a").text,
            li.find_element(By.CSS_SELECTOR, "p.counts").text,
        ))
    return out


def test_open_the_seeds_story_and_see_three_dated_events(server, browser):
    base, _ = server
    open_seed_story(browser, base)
    events = events_on_page(browser)
    assert [d for d, _, _ in events] == ["2025-08-12", "2025-12-27", "2026-01-09"]
    assert "Korea JoongAng Daily" in events[0][2]
    assert "Devdiscourse" in events[1][2]
    assert all(name in events[2][2] for name in ("NK News", "Reuters", "WION"))
    assert len(browser.find_elements(By.CSS_SELECTOR, ".badge.first")) == 3


def test_search_unconditionally_reaches_the_january_2026_event(server, browser):
    base, _ = server
    browser.get(base + "/")
    box = browser.find_element(By.CSS_SELECTOR, "header form.quick-search input[name=q]")
    box.send_keys("unconditionally")
    navigate(browser, box.submit)
    assert browser.find_elements(By.CSS_SELECTOR, "ol.results mark")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "ol.results a.event-link").click)
    assert browser.current_url.startswith(base + "/events/")
    assert browser.find_element(By.CSS_SELECTOR, "p.meta time").text == "2026-01-09"
    assert "unconditional" in browser.find_element(By.TAG_NAME, "h1").text.lower()


def test_script_payloads_in_an_article_stay_inert(server, browser):
    base, _ = server
    browser.get(base + "/search?q=marina")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "ol.results h2 a").click)
    assert browser.execute_script("return window.__xss === undefined")
    assert browser.title != "owned"
    try:
        browser.switch_to.alert
        pytest.fail("an alert opened")
    except NoAlertPresentException:
        pass
    shown = browser.find_element(By.CSS_SELECTOR, "article").text
    assert "<script>window.__xss = 1</script>" in browser.find_element(By.TAG_NAME, "h1").text
    assert "<script>window.__xss = 3" in shown and 'onerror="window.__xss = 4"' in shown
    assert not browser.find_elements(By.CSS_SELECTOR, "article img, article script")


def test_merge_two_events_and_it_persists_after_reingesting(server, browser, seeds, inputs, tmp_path):
    base, db = server
    open_seed_story(browser, base)
    story_url = browser.current_url
    boxes = browser.find_elements(By.CSS_SELECTOR, "ol.timeline li.event input[type=checkbox]")
    boxes[0].click()
    boxes[1].click()
    navigate(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Merge selected events']").click)
    assert [d for d, _, _ in events_on_page(browser)] == ["2025-08-12", "2026-01-09"]

    (tmp_path / "later.txt").write_text(LATER, encoding="utf-8")
    again = cli("ingest", "--db", str(db), "--ner", "fast", str(seeds), str(inputs), str(tmp_path / "later.txt"))
    assert again.returncode == 0, again.stderr
    browser.get(story_url)
    dates = [d for d, _, _ in events_on_page(browser)]
    # Still merged: the December event does not come back; the new report may open an event of its own.
    assert dates[:2] == ["2025-08-12", "2026-01-09"] and "2025-12-27" not in dates, dates
    browser.get(base + "/corrections")
    assert "merge events" in browser.find_element(By.CSS_SELECTOR, "table.log").text


def test_screenshot_of_the_story_page(server, browser, tmp_path):
    """Proves the page renders to pixels (the README's screenshot is made the same way)."""
    base, _ = server
    browser.get(base + "/")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "ol.stories h2 a").click)
    shot = tmp_path / "story.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_pages_fit_a_phone_screen(server, browser):
    base, db = server
    long_url = "https://news.example/rss/search?q=" + "harbour+ferry+pier+closure+" * 8 + "&hl=en-US&gl=US&ceid=US:en"
    assert cli("feeds", "add", long_url, "--db", str(db)).returncode == 0
    event = httpx.get(base + "/api/v1/events", params={"limit": 1}).json()["items"][0]["id"]
    size = browser.get_window_size()
    browser.set_window_size(390, 844)
    try:
        for path in ("/feeds", f"/events/{event}", "/corrections", "/"):
            browser.get(base + path)
            wide, room = browser.execute_script(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert wide <= room, f"{path}: {wide}px wide on a {room}px screen"
    finally:
        browser.set_window_size(size["width"], size["height"])
