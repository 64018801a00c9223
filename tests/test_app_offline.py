"""The app with the Hub out of reach, as on a machine without network: it starts, and the first Compare
answers in seconds (no request waits on the network; Hub models are tried once, in the background)."""

import socket
import time

import pytest
from gradio_client import Client, handle_file

from bench.pipeline import serve_app
from fer_space.sources import DEFAULT_DIR, DISPLAY_NAMES

pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "model.safetensors").exists(), reason="no embedded model")


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory):
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",  # the Hub: refused, and retried by its client
           "HF_HUB_OFFLINE": "0", "FER_CACHE": str(tmp_path_factory.mktemp("empty-cache")),
           "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio")),
           "FER_COMPARE_REPOS": "Missing model=nobody/missing", "FER_WEIGHTS_DIR": ""}
    started = time.perf_counter()
    proc, url = serve_app(env, log=open(tmp_path_factory.mktemp("logs") / "app.log", "w"))
    yield url, time.perf_counter() - started
    proc.terminate()
    proc.wait(timeout=30)


def test_first_compare_offline_answers_in_seconds(offline_app, examples):
    url, start_s = offline_app
    client = Client(url, verbose=False)
    embedded = list(DISPLAY_NAMES.values())
    times = []
    for photo in ("singnet_laos.jpg", "max_group.jpeg"):
        t0 = time.perf_counter()
        _, summary, table, info = client.predict(handle_file(str(examples / photo)), [*embedded, "Missing model"], "",
                                                 api_name="/compare")
        times.append(time.perf_counter() - t0)
        assert {row[1] for row in table["data"]} == set(embedded)  # every embedded model answered
        assert "Missing model |" in info and info.count("\n") == len(embedded) + 2  # one plain line for it
    print(f"server up after {start_s:.1f} s from an empty cache; first Compare {times[0]:.2f} s, second "
          f"{times[1]:.2f} s")
    assert times[0] < 5, times
