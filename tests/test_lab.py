"""``make lab``: a headless JupyterLab opens a chapter source as a notebook."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from analysis.book import lab

START_TIMEOUT_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def server(tmp_path):
    """JupyterLab started as `make lab` starts it, headless, on a free local port."""
    port, token = _free_port(), secrets.token_hex(16)
    env_home = tmp_path / "home"  # no user-wide Jupyter settings or kernels
    process = subprocess.Popen(
        [sys.executable, "-m", "analysis", "lab", "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={token}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "lab.log").open("w"),
        env={**lab.lab_command()[1], "HOME": str(env_home), "JUPYTER_CONFIG_DIR": str(env_home / ".jupyter")},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            _get(f"{base}/api/status", token)
            break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield base, token
    process.terminate()
    process.wait(timeout=30)


def test_lab_opens_a_chapter_as_a_notebook_on_the_project_kernel(server):
    base, token = server
    model = _get(f"{base}/api/contents/book/chapters/results.md?type=notebook&content=1", token)
    assert model["type"] == "notebook"
    notebook = model["content"]
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert any(c["cell_type"] == "code" and "parameters" in c["metadata"].get("tags", []) for c in notebook["cells"])
    specs = _get(f"{base}/api/kernelspecs", token)
    assert "python3" in specs["kernelspecs"]
    settings = _get(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin", token)
    viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
    assert viewers["markdown"] == "Jupytext Notebook"


def test_lab_command_is_offline_and_prefers_this_environment():
    command, environment = lab.lab_command(["--port=1"])
    assert command[:3] == [sys.executable, "-m", "jupyterlab"] and command[-1] == "--port=1"
    assert "--LabApp.news_url=None" in command and "--LabApp.extension_manager=readonly" in command
    assert environment["JUPYTER_PREFER_ENV_PATH"] == "1"


def test_settings_override_is_written_into_the_environment(tmp_path):
    path = lab.install_settings(tmp_path)
    assert path == tmp_path / lab.SETTINGS_FILE
    assert json.loads(path.read_text()) == lab.LAB_SETTINGS
