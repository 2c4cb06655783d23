"""The explorer page in headless Chromium: its numbers equal rnngrad.jacobian_through_time's, a slider
changes the plot and the numbers, a malformed address shows the defaults and says so without a
console error, and a screenshot is kept (the pytest tmp dir, and /tmp/explore-screenshot-{en,ko}.png).
Skipped, saying why, where Chromium or websocket-client is missing."""

from __future__ import annotations

import base64
import json
import shutil
from urllib.parse import parse_qsl

import pytest

from rnngrad.explore import write_explorer
from rnngrad.explore.texts import DYNAMIC, STATIC

from .devtools import CHROMIUM, Browser
from .oracle import deviation, library_norms

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
TOLERANCE = 1e-6  # the contract's; the page and the library agree to ~1e-13 in practice
DATA = "document.getElementById('explore-data').textContent"
PROBE = """JSON.stringify({data: JSON.parse(%s), message: document.getElementById('explore-message').textContent,
  messageShown: !document.getElementById('explore-message').hidden, hash: location.hash,
  curves: Object.fromEntries([...document.querySelectorAll('#plot path.curve')].map(p => [p.dataset.curve, p.getAttribute('d')])),
  cells: [...document.querySelectorAll('#numbers td')].map(td => td.textContent)})""" % DATA
MOVE = """new Promise(resolve => {
  document.addEventListener('explore:rendered', () => resolve(true), {once: true});
  const slider = document.getElementById('%s');
  slider.value = '%s';
  slider.dispatchEvent(new Event('input', {bubbles: true}));
})"""
SETTINGS = [
    "arch=rnn&gain=0.8&T=50",
    "arch=rnn&gain=2&T=200",
    "arch=rnn&gain=4&T=120&activation=sigmoid",
    "arch=rnn&gain=1.5&T=80&activation=relu",
    "arch=rnn&gain=1&T=60&input_scale=3",
    "arch=lstm&forget_bias=0&T=100",
    "arch=lstm&forget_bias=4.6&T=200",
    "arch=lstm&forget_bias=-2&T=30&init=chrono",
]
GLYPHS = """(async () => {
  await document.fonts.ready;
  const family = getComputedStyle(document.body).fontFamily;
  const hangul = [...new Set([...document.body.innerText].filter(c => c >= "\\uAC00" && c <= "\\uD7A3"))];
  const canvas = Object.assign(document.createElement("canvas"), {width: 48, height: 48});
  const context = canvas.getContext("2d", {willReadFrequently: true});
  const draw = (c, weight) => {
    context.clearRect(0, 0, 48, 48);
    context.font = `${weight} 32px ${family}`;
    context.fillText(c, 4, 38);
    return context.getImageData(0, 0, 48, 48).data.join(",");
  };
  const missing = [];
  for (const weight of ["normal", "bold"]) {  // headings and table headers are bold
    const box = draw("%s", weight);  // a syllable in no text of the page, so in no subset: the fallback box
    missing.push(...hangul.filter(c => draw(c, weight) === box).map(c => `${weight} ${c}`));
  }
  return JSON.stringify({hangul: hangul.length, missing});
})()"""
NOT_IN_THE_FONT = "뷁"
DEFAULTS = "arch=rnn&gain=1&T=100"
MALFORMED = ["arch=gru&gain=abc", "T=9999", "gain=%E0%A4%A", "gain=1&gain=2", "constructor=1", "T=2.5", "gain=",
             "arch=rnn&gain=1e999"]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("explore")
    return {lang: write_explorer(root / lang, lang=lang).parent for lang in ("en", "ko")}


@pytest.fixture(scope="module")
def weights(pages):
    return json.loads((pages["en"] / "weights.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("websocket", reason="websocket-client is not installed (pip install websocket-client)")
    browser = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def probe(browser) -> dict:
    return json.loads(browser.evaluate(PROBE))


def open_page(browser, folder, hash_: str) -> dict:
    browser.open((folder / "index.html").resolve().as_uri() + "#" + hash_)
    return probe(browser)


def setting_of(hash_: str) -> dict:
    return dict(parse_qsl(hash_))


def test_page_numbers_equal_the_library(browser, pages, weights):
    worst = 0.0
    for hash_ in SETTINGS:
        shown = open_page(browser, pages["en"], hash_)
        setting, data = setting_of(hash_), shown["data"]
        assert (data["arch"], data["T"]) == (setting["arch"], int(setting["T"])) and not shown["messageShown"]
        library = library_norms(weights, setting)
        assert set(library) <= set(data) and ("log10_carousel" in data) == (setting["arch"] == "lstm")
        assert data["log10_norm"][-1] == 0 and data.get("log10_carousel", [0])[-1] == 0  # entry T: the identity
        for key in library:
            assert len(data[key]) == int(setting["T"]) + 1
            worst = max(worst, deviation(data[key], library[key]))
    assert worst < TOLERANCE
    print(f"largest deviation page vs rnngrad.jacobian_through_time: {worst:.2e}")
    assert browser.errors() == []


@pytest.mark.parametrize("start, slider, value, moved", [
    (DEFAULTS, "gain", "2.5", {"gain": "2.5"}),
    ("arch=lstm&forget_bias=0&T=100", "forget_bias", "3", {"forget_bias": "3"}),
    ("arch=lstm&forget_bias=1&T=100", "T", "40", {"T": "40"}),
])
def test_a_slider_changes_the_plot_and_the_numbers(browser, pages, weights, start, slider, value, moved):
    before = open_page(browser, pages["en"], start)
    assert browser.evaluate(MOVE % (slider, value)) is True  # resolves on the page's render event
    after = probe(browser)
    assert after["curves"]["log10_norm"] != before["curves"]["log10_norm"]
    assert after["cells"] != before["cells"] and after["data"]["log10_norm"] != before["data"]["log10_norm"]
    setting = {**setting_of(start), **moved}
    in_address = setting_of(after["hash"].lstrip("#"))  # the address follows the sliders
    assert {key: in_address[key] for key in setting} == setting
    library = library_norms(weights, setting)
    assert max(deviation(after["data"][key], library[key]) for key in library) < TOLERANCE
    assert browser.errors() == []


def test_a_malformed_address_shows_the_defaults_and_says_so(browser, pages):
    defaults = open_page(browser, pages["en"], DEFAULTS)["data"]
    for hash_ in MALFORMED:
        shown = open_page(browser, pages["en"], hash_)
        assert shown["messageShown"] and "showing the defaults" in shown["message"], hash_
        assert shown["data"] == defaults, hash_
    korean = open_page(browser, pages["ko"], MALFORMED[0])
    assert korean["messageShown"] and "기본값" in korean["message"] and korean["data"] == defaults
    assert browser.errors() == []


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_screenshot_and_nothing_leaves_file(browser, pages, lang, tmp_path):
    seen = len(browser.events)
    open_page(browser, pages[lang], "arch=lstm&forget_bias=4.6&T=200")
    assert browser.evaluate("document.fonts.ready.then(() => document.fonts.status)") == "loaded"
    height = browser.evaluate("document.documentElement.scrollHeight")
    browser.call("Emulation.setDeviceMetricsOverride", width=900, height=height, deviceScaleFactor=1, mobile=False)
    shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    browser.call("Emulation.clearDeviceMetricsOverride")
    screenshot = tmp_path / f"explore-{lang}.png"
    screenshot.write_bytes(shot)
    shutil.copyfile(screenshot, f"/tmp/explore-screenshot-{lang}.png")
    assert screenshot.stat().st_size > 20_000
    if lang == "ko":  # Hangul is drawn from the embedded font, not as empty boxes
        assert NOT_IN_THE_FONT not in "".join(STATIC["ko"].values()) + "".join(DYNAMIC["ko"].values())
        glyphs = json.loads(browser.evaluate(GLYPHS % NOT_IN_THE_FONT))
        assert glyphs["hangul"] > 100 and glyphs["missing"] == []
    requests = [e["params"]["request"]["url"] for e in browser.events[seen:] if e.get("method") == "Network.requestWillBeSent"]
    assert requests and all(url.startswith(("file://", "about:", "data:")) for url in requests), requests
    assert browser.errors() == []
