"""``make lab``: JupyterLab in the project's environment, offline, chapters as notebooks.

The chapter sources in ``book/chapters/`` are jupytext MyST files; jupytext's server
extension (installed with jupytext) lets JupyterLab open them as notebooks and save them
back as ``.md``. A settings override makes "Jupytext Notebook" the default viewer of
Markdown files, so a double click opens a chapter as a notebook on the project's
``python3`` kernel (this environment's ipykernel, preferred over any user-wide kernel of
that name). Nothing reaches for the network: no news feed, no update check, and no
extension manager that searches PyPI.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from analysis.paths import PROJECT_ROOT

SETTINGS_FILE = Path("share", "jupyter", "lab", "settings", "overrides.d", "analysis.json")
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"},
    },
    # offline: do not ask whether to fetch news, do not look for updates
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
OFFLINE_OPTIONS = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    "--ServerApp.ip=127.0.0.1",
]


def install_settings(prefix: Path = Path(sys.prefix)) -> Path:
    """Write the overrides (Markdown files open as notebooks; no news, no update check)
    into this environment's JupyterLab settings (a file of its own, so a user's
    ``overrides.json`` is untouched)."""
    path = Path(prefix) / SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(LAB_SETTINGS, indent=2) + "\n")
    return path


def lab_command(extra: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start JupyterLab at the project root."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={PROJECT_ROOT}", *OFFLINE_OPTIONS]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root; it listens on localhost
        command.append("--ServerApp.allow_root=True")
    command += extra or []
    environment = {**os.environ, "JUPYTER_PREFER_ENV_PATH": "1"}  # this environment's kernel first
    return command, environment


def start_lab(extra: list[str] | None = None) -> None:
    """Replace this process with JupyterLab (Ctrl-C stops it as usual)."""
    install_settings()
    command, environment = lab_command(extra)
    os.execve(command[0], command, environment)
