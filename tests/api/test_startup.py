"""What `python app.py` prints when it starts (the server fixture's log)."""
import time
from pathlib import Path

LISTENING = "* Running on local URL:  "


def started_log(path: str, timeout: float = 60) -> str:
    """The app's log once it holds the start-up lines: they are printed just after the server first answers,
    which is when the fixture hands it over; so this waits for them, as a browser test waits for a condition."""
    deadline = time.monotonic() + timeout
    while LISTENING not in (log := Path(path).read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return log


def test_the_start_names_the_apps_own_share_switch(server):
    """gradio's own hint, "set `share=True` in `launch()`", named a call the app's user never writes; the app
    prints where it listens and its --share switch instead."""
    log = started_log(server.log_path)
    assert f"{LISTENING}{server.url}" in log
    assert "* To create a public link, run `python app.py --share`." in log
    assert "share=True" not in log
