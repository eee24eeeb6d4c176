"""The chat page in headless Chromium (Debian's chromium and chromedriver, driven by selenium) against
the real app: ask, see the passages found while the answer streams, wait for the answer and its source
cards, follow up, locate clauses, open a document, match a profile to its policies; injected markup must
show as text. Saves the README's screenshot to docs/screenshot.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOT = ROOT / "docs" / "screenshot.png"
ANSWER_TIMEOUT_S = 300  # the first question also loads the model; the machine may be busy
WAGE_DOC = "嘉政发〔2024〕9号"
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            f"{CHROMIUM} or {CHROMEDRIVER} missing: run `make browser` (Debian: chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1200")
    options.add_argument("--lang=zh-CN")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def _open(browser: WebDriver, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#question textarea"))


def _tab(browser: WebDriver, label: str) -> None:
    next(t for t in browser.find_elements(By.CSS_SELECTOR, "button[role=tab]") if t.text == label).click()


def _finished_answers(browser: WebDriver) -> int:
    return len(browser.find_elements(By.CSS_SELECTOR, "#transcript .msg.bot:not(.pending)"))


def _ask(browser: WebDriver, question: str) -> None:
    before = _finished_answers(browser)
    box = browser.find_element(By.CSS_SELECTOR, "#question textarea")
    box.send_keys(question)
    browser.find_element(By.CSS_SELECTOR, "#send").click()
    WebDriverWait(browser, ANSWER_TIMEOUT_S).until(lambda b: _finished_answers(b) > before)


def test_chat_answers_with_source_cards_and_shows_markup_as_text(browser: WebDriver, app_url: str):
    _open(browser, app_url)
    _ask(browser, "嘉兴市最低工资标准现在是多少？")
    transcript = browser.find_element(By.CSS_SELECTOR, "#transcript")
    assert "2260" in transcript.find_element(By.CSS_SELECTOR, ".msg.bot").text
    cards = transcript.find_elements(By.CSS_SELECTOR, ".card")
    assert cards, transcript.text
    assert WAGE_DOC in [c.find_element(By.CSS_SELECTOR, ".docno").text for c in cards]
    assert transcript.find_elements(By.CSS_SELECTOR, ".card mark"), "no supporting sentence highlighted"
    assert "回答完成" in browser.find_element(By.CSS_SELECTOR, "#status").text

    link = transcript.find_element(By.CSS_SELECTOR, "a.cite")
    target = link.get_attribute("href").split("#")[1]
    link.click()
    assert browser.current_url.endswith(f"#{target}")
    assert transcript.find_element(By.ID, target).get_attribute("class") == "card"
    browser.execute_script("window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))

    _ask(browser, f"那非全日制工作的小时工资呢？{SCRIPT}{IMG}")
    questions = [e.text for e in transcript.find_elements(By.CSS_SELECTOR, ".msg.user")]
    assert questions[-1] == f"那非全日制工作的小时工资呢？{SCRIPT}{IMG}"
    assert not transcript.find_elements(By.CSS_SELECTOR, "script, img")
    assert browser.execute_script("return window.__pwned") is None


def test_source_cards_show_before_the_answer_is_finished(browser: WebDriver, app_url: str):
    _open(browser, app_url)
    before = _finished_answers(browser)
    browser.find_element(By.CSS_SELECTOR, "#question textarea").send_keys("嘉兴市最低工资标准现在是多少？")
    browser.find_element(By.CSS_SELECTOR, "#send").click()
    found = "#transcript .sources.found .card"
    cards = WebDriverWait(browser, ANSWER_TIMEOUT_S, poll_frequency=0.1).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, found)
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#transcript .msg.bot.pending"), (
        "the answer was already done"
    )
    assert WAGE_DOC in [c.find_element(By.CSS_SELECTOR, ".docno").text for c in cards]
    WebDriverWait(browser, ANSWER_TIMEOUT_S).until(lambda b: _finished_answers(b) > before)
    assert not browser.find_elements(By.CSS_SELECTOR, found)  # the finished answer shows what it cites


def test_empty_question_gets_a_clear_message(browser: WebDriver, app_url: str):
    _open(browser, app_url)
    browser.find_element(By.CSS_SELECTOR, "#send").click()
    WebDriverWait(browser, 30).until(lambda b: "问题为空" in b.find_element(By.CSS_SELECTOR, "#status").text)


def test_locate_lists_clauses_and_opens_the_document(browser: WebDriver, app_url: str):
    _open(browser, app_url)
    _tab(browser, "查找条款")
    box = WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#locate-query textarea")
    )
    box.send_keys(f"公建民营养老机构合同期限{IMG}", Keys.ENTER)
    results = browser.find_element(By.CSS_SELECTOR, "#locate-results")
    WebDriverWait(browser, 60).until(lambda b: results.find_elements(By.CSS_SELECTOR, ".card"))
    assert IMG in results.find_element(By.CSS_SELECTOR, ".locate-head").text
    assert not results.find_elements(By.CSS_SELECTOR, "script, img")
    card = results.find_element(By.CSS_SELECTOR, ".card")
    assert card.find_element(By.CSS_SELECTOR, ".path").text
    card.find_element(By.CSS_SELECTOR, "button.open-doc").click()
    WebDriverWait(browser, 30).until(lambda b: card.find_elements(By.CSS_SELECTOR, ".doc-context mark"))
    clause = card.find_element(By.CSS_SELECTOR, ".passage").text
    assert clause.strip()[:20] in card.find_element(By.CSS_SELECTOR, ".doc-context mark").text.replace(
        "\n", ""
    )
    assert browser.execute_script("return window.__pwned") is None


def test_match_tab_lists_the_clauses_for_a_profile(browser: WebDriver, app_url: str):
    _open(browser, app_url)
    _tab(browser, "政策找企业 / 政策找人")
    box = WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#match-profile textarea")
    )
    results = browser.find_element(By.CSS_SELECTOR, "#match-results")
    browser.find_element(By.CSS_SELECTOR, "#match-send").click()
    WebDriverWait(browser, 30).until(lambda b: "画像为空" in results.text)

    box.send_keys(f"嘉兴一家做新材料的科技型中小企业，40人{IMG}", Keys.ENTER)
    WebDriverWait(browser, 60).until(lambda b: results.find_elements(By.CSS_SELECTOR, ".card"))
    assert "嘉兴市" in results.find_element(By.CSS_SELECTOR, ".profile").text
    cards = results.find_elements(By.CSS_SELECTOR, ".card")
    assert len(cards) == 10
    for card in cards:
        assert card.find_element(By.CSS_SELECTOR, ".validity").text in {
            "现行有效",
            "已失效",
            "尚未施行",
            "未说明",
        }
        assert card.find_element(By.CSS_SELECTOR, ".gives").text.startswith("给予/要求")
        assert "适用原因" in card.find_element(By.CSS_SELECTOR, ".why").text
    cards[0].find_element(By.CSS_SELECTOR, "button.open-doc").click()
    WebDriverWait(browser, 30).until(lambda b: cards[0].find_elements(By.CSS_SELECTOR, ".doc-context mark"))
    assert not results.find_elements(By.CSS_SELECTOR, "script, img")
    assert browser.execute_script("return window.__pwned") is None
