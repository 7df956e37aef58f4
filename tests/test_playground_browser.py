"""The playground in a real headless Chromium (Debian's ``chromium``, driven by Playwright): a learner
trains the spiral with the mouse alone, shares the URL, compares runs, downloads the model.

Needs ``apt-get install chromium`` and ``pip install playwright`` (``.ci/run`` installs Chromium);
without them these tests skip, saying so. Set PLAYGROUND_SCREENSHOT=path.png to keep the screenshot.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "needs Chromium and Playwright: apt-get install chromium && pip install playwright"
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing; {INSTALL}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason=INSTALL)
pytest.importorskip("starlette", reason="pip install 'deeplayers[playground]'")

import deeplayers as dl  # noqa: E402
from deeplayers.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: the test accuracy the learner's spiral must reach
TARGET = 90.0


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([sys.executable, "-m", "deeplayers", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stdout.readline()
    match = re.search(r"(http://\S+/)", line)
    if not match:
        proc.kill()
        pytest.fail(line + proc.stderr.read())
    yield match.group(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx
    ctx.close()


def open_page(context, url: str):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.playground && window.playground.framesRendered > 0")
    page.js_errors = errors
    return page


def tid(name: str) -> str:
    return f"[data-testid={name}]"


def cfg(page) -> dict:
    return page.evaluate("window.playground.state.cfg")


def click_and_wait(page, name: str, condition: str) -> None:
    page.click(tid(name))
    page.wait_for_function(condition)


def number(page, name: str) -> float:
    return float(re.sub(r"[^0-9.eE+-]", "", page.inner_text(tid(name))) or "nan")


ALL_TESTIDS = (
    [f"dataset-{d}" for d in ("circle", "xor", "gauss", "spiral", "moons", "reg-plane", "reg-gauss")]
    + [f"feature-{f}" for f in ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")]
    + ["play", "step", "reset", "add-layer", "remove-layer", "add-unit-1", "remove-unit-1", "activation-1",
       "add-unit-2", "remove-unit-2", "activation-2", "learning-rate", "l2", "batch-size", "optimizer", "noise",
       "train-ratio", "epoch", "train-loss", "test-loss", "test-accuracy", "output-heatmap", "neuron-1-1", "neuron-1-4",
       "neuron-2-2", "neuron-3-1", "shapes", "save-run", "compare-curves", "upload-csv", "export-model", "export-onnx"]
)


def test_a_learner_trains_the_spiral_by_clicking(server: str, context, tmp_path: Path) -> None:
    page = open_page(context, server)
    for name in ALL_TESTIDS:
        assert page.locator(tid(name)).count() == 1, name
    click_and_wait(page, "dataset-spiral", "window.playground.state.cfg.dataset === 'spiral'")
    for n in range(5, 9):
        click_and_wait(page, "add-unit-1", f"window.playground.state.cfg.layers[0] === {n}")
    for n in range(3, 9):
        click_and_wait(page, "add-unit-2", f"window.playground.state.cfg.layers[1] === {n}")
    assert cfg(page)["layers"] == [8, 8]
    # screen updates per second while the spiral with two hidden layers of 8 units trains
    page.click(tid("play"))
    page.wait_for_function("window.playground.state.playing === true")
    f0, t0 = page.evaluate("window.playground.framesRendered"), time.perf_counter()
    page.wait_for_timeout(2000)
    rate = (page.evaluate("window.playground.framesRendered") - f0) / (time.perf_counter() - t0)
    print(f"\nplayground: {rate:.1f} screen updates per second while training the spiral with hidden layers 8, 8")
    (tmp_path / "updates_per_second.txt").write_text(f"{rate:.1f}\n")
    assert rate > 0, "the page must keep drawing while it trains"
    page.click(tid("play"))
    page.wait_for_function("window.playground.state.playing === false")

    # a third hidden layer, the sine features and Adam
    click_and_wait(page, "add-layer", "window.playground.state.cfg.layers.length === 3")
    click_and_wait(page, "feature-sinx1", "window.playground.state.cfg.features.length === 3")
    click_and_wait(page, "feature-sinx2", "window.playground.state.cfg.features.length === 4")
    page.select_option(tid("optimizer"), "adam")
    page.wait_for_function("window.playground.state.cfg.optimizer === 'adam'")
    assert cfg(page)["layers"] == [8, 8, 2] and cfg(page)["features"] == ["x1", "x2", "sinx1", "sinx2"]
    assert int(number(page, "epoch")) == 0  # a new setting is a new run
    shapes = page.inner_text(tid("shapes"))
    for text in ("A[0] = X: (4, 250)", "W[1]: (8, 4)", "b[1]: (8, 1)", "Z[1]: (8, 250)", "A[1]: (8, 250)", "W[2]: (8, 8)",
                 "W[3]: (2, 8)", "W[4]: (1, 2)", "A[4]: (1, 250)", "layer_dims = [4, 8, 8, 2, 1]", "mini-batch of 10"):
        assert text in shapes, text
    assert page.locator(tid("neuron-3-2")).count() == 1 and page.locator(tid("neuron-3-3")).count() == 0
    page.click(tid("play"))
    page.wait_for_function("window.playground.state.playing === true")
    page.wait_for_function(f"parseFloat(document.querySelector('[data-testid=test-accuracy]').textContent) >= {TARGET}",
                           timeout=60_000)
    page.click(tid("play"))  # pause
    page.wait_for_function("window.playground.state.playing === false")
    page.wait_for_timeout(100)
    accuracy, epoch = number(page, "test-accuracy"), int(number(page, "epoch"))
    print(f"playground: test accuracy {accuracy}% at epoch {epoch}")
    assert accuracy >= TARGET and epoch > 0
    page.hover(tid("neuron-2-3"))  # a hidden unit's A[2] shown large
    page.wait_for_function("document.getElementById('out-label').textContent.startsWith('A[2] row 3')")
    page.mouse.move(5, 5)
    shot = tmp_path / "playground-spiral.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    if os.environ.get("PLAYGROUND_SCREENSHOT"):
        shutil.copy(shot, os.environ["PLAYGROUND_SCREENSHOT"])

    # the model file: deeplayers.load reads it, `deeplayers evaluate` accepts it on the page's data
    with page.expect_download() as d:
        page.click(tid("export-model"))
    model_path = tmp_path / d.value.suggested_filename
    d.value.save_as(model_path)
    model = dl.load(model_path)
    assert model.layer_dims == [4, 8, 8, 2, 1] and model.activations == ["tanh", "tanh", "tanh", "sigmoid"]
    with page.expect_download() as d:
        page.click(tid("export-data"))
    data_path = tmp_path / "spiral.csv"
    d.value.save_as(data_path)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["evaluate", str(model_path), str(data_path), "--json"]) == 0
    assert json.loads(buf.getvalue())["accuracy"] >= TARGET / 100 - 0.05  # train + test together
    with page.expect_download() as d:
        page.click(tid("export-onnx"))
    assert d.value.suggested_filename.endswith(".onnx")

    # compare runs: save this one, start another, save it: two curves overlaid
    page.click(tid("save-run"))
    page.select_option(tid("learning-rate"), "0.003")
    page.wait_for_function("window.playground.state.cfg.learning_rate === 0.003")
    page.click(tid("reset"))
    page.wait_for_function("window.playground.state.frame.epoch === 0")
    page.click(tid("play"))
    page.wait_for_function("window.playground.state.frame.epoch >= 20")
    page.click(tid("play"))
    page.wait_for_function("window.playground.state.playing === false")
    page.click(tid("save-run"))
    assert page.locator(f"{tid('compare-curves')} path.run-curve").count() == 2
    assert "α=0.003" in page.inner_text("#runs") and "α=0.03" in page.inner_text("#runs")
    page.screenshot(path=str(tmp_path / "playground-compare.png"), full_page=True)
    assert page.js_errors == []


def test_the_url_shares_the_whole_setting(server: str, context) -> None:
    page = open_page(context, server)
    click_and_wait(page, "dataset-moons", "window.playground.state.cfg.dataset === 'moons'")
    click_and_wait(page, "remove-layer", "window.playground.state.cfg.layers.length === 1")
    click_and_wait(page, "add-unit-1", "window.playground.state.cfg.layers[0] === 5")
    page.select_option(tid("activation-1"), "relu")
    page.wait_for_function("window.playground.state.cfg.activations[0] === 'relu'")
    click_and_wait(page, "feature-x1x2", "window.playground.state.cfg.features.length === 3")
    page.select_option(tid("l2"), "0.01")
    page.select_option(tid("optimizer"), "rmsprop")
    page.wait_for_function("window.playground.state.cfg.optimizer === 'rmsprop'")
    page.locator(tid("noise")).fill("20")
    page.wait_for_function("window.playground.state.cfg.noise === 20")
    page.locator(tid("train-ratio")).fill("70")
    page.wait_for_function("window.playground.state.cfg.train_ratio === 70")
    page.locator(tid("batch-size")).fill("25")
    page.wait_for_function("window.playground.state.cfg.batch_size === 25")
    want, url = cfg(page), page.url
    assert "dataset=moons" in url and "layers=5" in url
    other = open_page(context, url)  # someone opens the shared link
    other.wait_for_function("window.playground.state.cfg.dataset === 'moons' && window.playground.state.cfg.batch_size === 25")
    assert cfg(other) == want
    assert other.input_value(tid("activation-1")) == "relu" and other.input_value(tid("optimizer")) == "rmsprop"
    assert other.input_value(tid("l2")) == "0.01" and other.input_value(tid("noise")) == "20"
    assert "W[1]: (5, 3)" in other.inner_text(tid("shapes")) and "A[1]: (5, 350)" in other.inner_text(tid("shapes"))
    assert other.locator(f"{tid('feature-x1x2')}.off").count() == 0 and other.locator(f"{tid('feature-x1sq')}.off").count() == 1


def test_an_address_with_layers_but_no_activations_is_completed(server: str, context) -> None:
    # #layers=... without #act=... once failed: "activations must list one g[l] per hidden layer (0)"
    page = open_page(context, server.rstrip("/") + "/#dataset=reg-gauss&layers=&lr=0.01")
    page.wait_for_function("window.playground.state.cfg.dataset === 'reg-gauss'")
    assert (cfg(page)["layers"], cfg(page)["activations"], cfg(page)["learning_rate"]) == ([], [], 0.01)
    assert "W[1]: (1, 2)" in page.inner_text(tid("shapes"))
    page.evaluate("location.hash = 'dataset=xor&layers=8,8,3'")  # pasted into the open page
    page.wait_for_function("window.playground.state.cfg.layers.length === 3")
    assert (cfg(page)["dataset"], cfg(page)["activations"]) == ("xor", ["tanh", "tanh", "tanh"])
    assert "W[3]: (3, 8)" in page.inner_text(tid("shapes"))
    page.evaluate("location.hash = 'layers=5&act=relu'")
    page.wait_for_function("window.playground.state.cfg.layers.length === 1")
    assert (cfg(page)["layers"], cfg(page)["activations"]) == ([5], ["relu"])
    assert page.is_hidden(tid("error")) and page.js_errors == []


def test_bad_input_shows_an_error_and_changes_nothing(server: str, context, tmp_path: Path) -> None:
    page = open_page(context, server.rstrip("/") + "/#noise=99&layers=4,2")
    page.wait_for_selector(f"{tid('error')}:not([hidden])")
    assert "noise (percent) must be a whole number from 0 to 50, got 99" in page.inner_text(tid("error"))
    assert cfg(page)["noise"] == 0
    page.click("#error-close")
    page.evaluate("window.playground.state.ws.send('{not json')")
    page.wait_for_selector(f"{tid('error')}:not([hidden])")
    assert "message is not valid JSON" in page.inner_text(tid("error"))
    bad = tmp_path / "two-columns.csv"
    bad.write_text("1,2\n3,4\n")
    page.set_input_files(tid("upload-csv"), str(bad))
    page.wait_for_function("document.getElementById('error-text').textContent.includes('exactly 3 columns')")
    assert cfg(page)["dataset"] == "circle"
    good = tmp_path / "mine.csv"
    good.write_text("a,b,kind\n" + "\n".join(f"{i % 7},{i // 7},{'yes' if i % 7 > i // 7 else 'no'}" for i in range(49)))
    page.set_input_files(tid("upload-csv"), str(good))
    page.wait_for_function("window.playground.state.cfg.dataset === 'csv'")
    assert "mine.csv" in page.inner_text("#csv-name")
    assert page.js_errors == []


def test_two_tabs_train_independently(server: str, context) -> None:
    a, b = open_page(context, server), open_page(context, server)
    click_and_wait(a, "dataset-xor", "window.playground.state.cfg.dataset === 'xor'")
    a.click(tid("play"))
    a.wait_for_function("window.playground.state.frame.epoch >= 10")
    assert b.inner_text(tid("epoch")) == "0" and cfg(b)["dataset"] == "circle"
    b.click(tid("step"))
    b.wait_for_function("window.playground.state.frame.epoch === 1")
    a.click(tid("play"))
    a.wait_for_function("window.playground.state.playing === false")
    assert int(number(a, "epoch")) >= 10 and int(number(b, "epoch")) == 1
