"""The Gradio app for real: app.py in a subprocess, gradio_client calls, and headless Chromium."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file

from fer_space import EMOTIONS
from fer_space.app.catalog import DEFAULT_NAME as DEFAULT
from fer_space.app.catalog import LIVE_NAME, default_entries
from fer_space.models import create_model
from fer_space.sources import DEFAULT_DIR

from .conftest import ROOT

pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "model.safetensors").exists(),
                                reason="no embedded model: the app refuses to predict without trained weights")
ARTIFACTS = ROOT / "artifacts"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(hub, tmp_path_factory):
    torch.manual_seed(5)
    create_model("resnet_nano").push_to_hub("tester/resnet-nano")
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio")),
           "FER_COMPARE_REPOS": "ResNet nano (test)=tester/resnet-nano,Missing model=nobody/missing"}
    log = open(tmp_path_factory.mktemp("logs") / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited: {Path(log.name).read_text()[-2000:]}") from None
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app did not serve within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_predict_endpoint_on_examples(client, examples):
    annotated, gallery, label, record, heat = client.predict(handle_file(str(examples / "max_group.jpeg")), DEFAULT,
                                                             True, False, api_name="/predict")
    assert Path(annotated).stat().st_size > 10_000
    assert len(gallery) == len(record["faces"]) >= 4 and heat == []  # heat maps only on request
    assert record["model"]["name"] == "ensemble" and "embedded" in record["model"]["source"]
    for face in record["faces"]:
        assert sum(face["probabilities"].values()) == pytest.approx(1, abs=1e-3)
        assert face["label"] in EMOTIONS and isinstance(face["unsure"], bool) and isinstance(face["warnings"], list)
    assert label["label"] == record["faces"][0]["caption"]  # "unsure: sad / neutral" for an unsure face


def test_predict_endpoint_explains_on_request(client, examples):
    _, _, _, record, heat = client.predict(handle_file(str(examples / "max_group.jpeg")), DEFAULT, True, True,
                                           api_name="/predict")
    assert len(heat) == len(record["faces"])  # one map per face for a CNN ensemble
    assert all(Path(item["image"]).stat().st_size > 1_000 and "model" in item["caption"] for item in heat)


def test_non_image_gets_a_message_and_the_server_keeps_serving(client, examples, tmp_path):
    fake = tmp_path / "fake.jpg"
    fake.write_text("<html>not an image</html>")
    with pytest.raises(Exception, match="Cannot read this image"):
        client.predict(handle_file(str(fake)), DEFAULT, True, False, api_name="/predict")
    _, _, _, record, _ = client.predict(handle_file(str(examples / "skimage_astronaut.png")), DEFAULT, True,
                                     False, api_name="/predict")
    assert len(record["faces"]) == 1


def test_no_face_returns_an_empty_result(client, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(blank)
    _, gallery, label, record, _ = client.predict(handle_file(str(blank)), DEFAULT, True, False, api_name="/predict")
    assert record["faces"] == [] and gallery == []


def test_compare_lists_ready_and_unavailable_models(client, examples):
    shipped = [e.name for e in default_entries() if e.embedded and e.name != DEFAULT]  # fer_space/embedded
    names = [DEFAULT, *shipped, "ResNet nano (test)", "Missing model"]
    deadline = time.time() + 60
    while True:  # Hub models load in the background; the tab says so until they are ready
        annotated, summary, table, info = client.predict(handle_file(str(examples / "singnet_laos.jpg")), names,
                                                         "", api_name="/compare")
        if "still being fetched" not in info or time.time() > deadline:
            break
        time.sleep(1)
    models = {row[1] for row in table["data"]}
    assert models == {DEFAULT, *shipped, "ResNet nano (test)"}
    assert len(table["data"]) == 2 * len(models)  # the long table: 2 faces x every available model
    # At a glance: one row per face, one column per model with its validation accuracy and latency.
    assert [row[0] for row in summary["data"]] == [1, 2]
    headers = summary["headers"][1:]
    assert len(headers) == len(models) and all("ms/face" in h for h in headers)
    assert sum("% val" in h for h in headers) == 1 + len(shipped)
    for row in summary["data"]:
        for cell in row[1:]:  # "happy 87%", or "unsure: sad / neutral"
            words = cell.replace(":", "").replace("/", "").split()
            assert (words[0] in EMOTIONS and cell.endswith("%")) or (words[0] == "unsure" and words[1] in EMOTIONS)
    assert "Missing model | unavailable" in info and "nobody/missing" in info
    assert info.count("accuracy") >= 1 + len(shipped)  # the shipped models' published evaluations


def _astronaut_clip(examples, path, fourcc: str, frames: int, step: int):
    """A 10 fps clip of the astronaut photo sliding sideways ``step`` px a frame, in the codec ``fourcc``."""
    import cv2

    from fer_space.images import load_image

    rgb = load_image(examples / "skimage_astronaut.png")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (512, 512))
    for i in range(frames):
        writer.write(np.ascontiguousarray(np.roll(rgb, step * i, axis=1)[:, :, ::-1]))
    writer.release()
    return path


def test_video_endpoint(client, examples, tmp_path):
    path = _astronaut_clip(examples, tmp_path / "clip.avi", "MJPG", frames=20, step=3)
    video, plot, csv_path, note = client.predict(handle_file(str(path)), DEFAULT, api_name="/video")
    video = video["video"] if isinstance(video, dict) else video
    assert video.endswith(".webm") and Path(video).stat().st_size > 1000
    lines = Path(csv_path).read_text().splitlines()
    assert lines[0].startswith("frame,time_s,track_id,label")
    assert len(lines) == 21 and {line.split(",")[2] for line in lines[1:]} == {"1"}  # one face, one track
    assert "20 frames" in note
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(Exception, match="not a video|no frames"):
        client.predict(handle_file(str(bad)), DEFAULT, api_name="/video")


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


def _require_browser():
    if not _chromium():
        if os.environ.get("FER_REQUIRE_BROWSER"):
            pytest.fail("FER_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("no chromium (apt-get install chromium)")


def test_browser_sees_tabs_and_an_annotated_result(app_url, examples):
    _require_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser, page = _open_app(pw, app_url)
        for tab in ("Image", "Webcam", "Video", "Compare models", "About"):
            assert page.get_by_role("tab", name=tab).is_visible()
        assert page.get_by_text("Model in use").is_visible()
        page.locator("input[type=file]").first.set_input_files(str(examples / "singnet_laos.jpg"))
        page.get_by_label("Show where the model looked (Grad-CAM)").check()
        page.get_by_role("button", name="Analyse", exact=True).click()
        page.locator("#faces-out img").first.wait_for(timeout=60_000)
        page.wait_for_function("document.querySelectorAll('#faces-gallery img').length >= 2", timeout=60_000)
        page.wait_for_function("document.querySelectorAll('#heat-gallery img').length >= 2", timeout=60_000)
        page.get_by_text("detection_score").first.wait_for(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "app-image-tab.png"), full_page=True)
        browser.close()


def _open_app(pw, app_url):
    """Chromium on the app, once its tabs are there: (browser, page)."""
    browser = pw.chromium.launch(executable_path=_chromium(), args=BROWSER_ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="About").wait_for(timeout=60_000)
    return browser, page


def _rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _server_pid(app_url):
    port = app_url.rstrip("/").rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(out.split("pid=")[1].split(",")[0])


def test_bad_uploads_through_the_server(client, app_url, tmp_path, examples):
    from .test_bad_input import bad_cases

    rgb = np.zeros((64, 64, 3), np.uint8)
    cases = {k: v for k, v in bad_cases(rgb).items() if isinstance(v, bytes)}
    pid = _server_pid(app_url)
    client.predict(handle_file(str(examples / "skimage_astronaut.png")), DEFAULT, True, False, api_name="/predict")
    baseline = _rss_mb(pid)
    for round_ in range(2):
        for i, (name, data) in enumerate(cases.items()):
            path = tmp_path / f"upload{round_}_{i}.jpg"
            path.write_bytes(data or b"")
            with pytest.raises(Exception) as err:
                client.predict(handle_file(str(path)), DEFAULT, True, False, api_name="/predict")
            assert "Cannot read this image" in str(err.value) or "Upload a photo" in str(err.value), name
    _, _, _, record, _ = client.predict(handle_file(str(examples / "skimage_astronaut.png")), DEFAULT, True,
                                     False, api_name="/predict")
    assert len(record["faces"]) == 1  # still serving
    assert _rss_mb(pid) - baseline < 100


def test_eight_concurrent_users_get_their_own_answers(app_url, examples):
    """8 clients x 20 requests on the image endpoint: every answer is the caller's own."""
    from concurrent.futures import ThreadPoolExecutor

    photos = {"skimage_astronaut.png": 1, "singnet_laos.jpg": 2}
    errors = []

    def user(i):
        client = Client(app_url, verbose=False)
        photo = list(photos)[i % 2]
        answered = 0
        for _ in range(20):
            try:
                _, _, _, record, _ = client.predict(handle_file(str(examples / photo)), DEFAULT, True, False,
                                                    api_name="/predict")
            except Exception as exc:  # a full queue is an acceptable answer, anything else is not
                if "queue" not in str(exc).lower():
                    errors.append(repr(exc))
                continue
            if len(record["faces"]) != photos[photo]:
                errors.append(f"user {i} sent {photo} and got {len(record['faces'])} faces")
            answered += 1
        return answered

    with ThreadPoolExecutor(8) as pool:
        answered = list(pool.map(user, range(8)))
    assert errors == []
    assert sum(answered) >= 150


def _face_y4m(path, examples, frames=20):
    """A raw video file Chromium can play as its fake camera: the astronaut at 640x480."""
    import cv2

    from fer_space.images import load_image

    canvas = np.zeros((480, 640, 3), np.uint8)
    canvas[:, 64:576] = load_image(examples / "skimage_astronaut.png")[:480]
    yuv = cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420).tobytes()
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            f.write(b"FRAME\n" + yuv)
    return path


def test_browser_webcam_streams_tracked_labels(app_url, examples, tmp_path):
    """The webcam tab in Chromium with a fake camera showing a face: annotated frames come back live."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    camera = _face_y4m(tmp_path / "face.y4m", examples)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=[
            *BROWSER_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}"])
        page = browser.new_context(permissions=["camera"], viewport={"width": 1280, "height": 900}).new_page()
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("tab", name="Webcam").click()
        page.locator("text=Click to Access Webcam >> visible=true").first.click()
        page.locator("button:has-text('Record'):visible").first.click()
        stats = page.get_by_text("FPS ·")
        stats.wait_for(timeout=60_000)
        page.wait_for_function("() => /#1 (\\w+ \\d+%|unsure: \\w+ \\/ \\w+)/.test(document.body.innerText)",
                               timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "app-webcam-tab.png"))
        text = stats.inner_text()  # "<model>: 12.3 FPS · 41 ms/frame (server) · #1 happy 87%"
        assert text.startswith(LIVE_NAME) and float(re.search(r"([\d.]+) FPS", text).group(1)) > 0
        # the tab's own model line names the webcam's model, and the live stats are not greyed out
        assert page.locator("#cam-model-line").inner_text().startswith(f"Model in use: {LIVE_NAME}")
        opacity = page.evaluate("""() => { let el = document.querySelector('#cam-stats'), o = 1;
            for (let i = 0; el && i < 6; i++, el = el.parentElement) o *= parseFloat(getComputedStyle(el).opacity);
            return o; }""")
        assert opacity > 0.95, opacity
        browser.close()


GALLERY_CHECK = """(id) => {
    const outer = document.querySelector(`#${id}`).getBoundingClientRect();  // the block clips what overflows
    const wrap = document.querySelector(`#${id} .grid-wrap`).getBoundingClientRect();  // and this one scrolls
    const box = {top: Math.max(outer.top, wrap.top), bottom: Math.min(outer.bottom, wrap.bottom)};
    const items = [...document.querySelectorAll(`#${id} .thumbnail-item`)];
    return items.map((item) => {
        const r = item.getBoundingClientRect();
        const caption = item.querySelector('.caption-label');
        const c = caption ? caption.getBoundingClientRect() : null;
        return {inside: r.top >= box.top - 1 && r.bottom <= box.bottom + 1 && r.height > 40,
                caption: c !== null && c.height > 0 && c.top >= box.top - 1 && c.bottom <= box.bottom + 1};
    });
}"""


def _analyse_in_browser(page, photo):
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_role("button", name="Analyse", exact=True).click()
    page.wait_for_function(f"document.querySelector('#record-json').innerText.includes('{photo.name}')",
                           timeout=120_000)
    page.wait_for_function("""() => {  // the faces table (filled after the record) numbers every face found
        const n = (document.querySelector('#faces-table').innerText.match(/^#\\d+$/gm) || []).length;
        return n > 0 && n === document.querySelectorAll('#faces-gallery .thumbnail-item').length; }""",
                           timeout=60_000)


def test_browser_crowded_photo_is_numbered_and_every_face_shows_whole(app_url, examples):
    """The 16-face classroom photo: the annotated image numbers the faces (render tests check the labels
    stay inside and apart), the table beside it lists each number, and the gallery shows every face and
    its caption (it used to cut them at 160 px)."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser, page = _open_app(pw, app_url)
        for photo, at_least in (("singnet_classroom_in_tanzania.jpg", 14), ("singnet_laos.jpg", 2)):
            _analyse_in_browser(page, examples / photo)
            rows = re.findall(r"^#(\d+)$", page.locator("#faces-table").inner_text(), flags=re.M)
            items = page.evaluate(GALLERY_CHECK, "faces-gallery")
            page.screenshot(path=str(ARTIFACTS / f"app-{photo.split('.')[0]}.png"), full_page=True)
            assert rows == [str(i + 1) for i in range(len(items))] and len(items) >= at_least
            assert all(item["inside"] and item["caption"] for item in items), items
        browser.close()


def test_browser_example_click_analyses_and_an_mp4v_video_uploads_without_an_error(app_url, examples, tmp_path):
    _require_browser()
    from playwright.sync_api import sync_playwright

    clip = _astronaut_clip(examples, tmp_path / "opencv.mp4", "mp4v", frames=10, step=2)
    with sync_playwright() as pw:
        browser, page = _open_app(pw, app_url)
        page.locator("#image-examples .gallery-item").first.click()  # no Analyse press after it
        page.wait_for_function("document.querySelector('#faces-table').innerText.includes('#1')", timeout=120_000)
        page.locator("#faces-out img").first.wait_for(timeout=10_000)

        name_box = page.locator("#image-model input").first  # the default's whole name fits its dropdown
        assert name_box.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), name_box.input_value()

        page.get_by_role("tab", name="Video").click()
        page.locator("#video-in input[type=file]").set_input_files(str(clip))
        page.get_by_text("512x512").wait_for(timeout=60_000)  # the preview's line: size, length, frame rate
        page.wait_for_timeout(1500)
        toasts = page.locator(".toast-item").all_inner_texts()
        page.screenshot(path=str(ARTIFACTS / "app-video-upload.png"), full_page=True)
        assert not any("error" in t.lower() for t in toasts), toasts
        browser.close()


def test_import_app_exits_cleanly_and_nothing_is_written_into_the_package(client, examples):
    """``import app`` builds the app and returns (it used to end in ``terminate called`` and exit 134
    while models loaded in daemon threads); after the app has served, the package holds only its files."""
    client.predict(handle_file(str(examples / "singnet_laos.jpg")), DEFAULT, True, False, api_name="/predict")
    run = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    if shutil.which("git") and (ROOT / ".git").exists():
        status = subprocess.run(["git", "status", "--porcelain", "--ignored", "--", "fer_space", "app.py"], cwd=ROOT,
                                capture_output=True, text=True).stdout.splitlines()
        written = [line for line in status if "__pycache__" not in line and (line.startswith(("??", "!!")))]
        assert written == [], written
