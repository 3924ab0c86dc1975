"""Read what executed chapters glued, so the provenance page can list where each figure
came from."""

from __future__ import annotations

import json
from pathlib import Path

RECORD_PREFIX = "application/papermill.record/"


def glue_name(output: dict) -> str | None:
    """The key a glued output was stored under; None for an output a reader sees. Values
    glued with display=False carry a papermill prefix on their MIME types, which Jupyter
    does not show."""
    return output.get("metadata", {}).get("scrapbook", {}).get("name")


def glued_outputs(notebook: Path) -> dict[str, dict]:
    """Every glued output of an executed notebook: key -> its MIME bundle."""
    found = {}
    for cell in json.loads(Path(notebook).read_text())["cells"]:
        for output in cell.get("outputs", []):
            if name := glue_name(output):
                found[name] = {mime.removeprefix(RECORD_PREFIX): data for mime, data in output.get("data", {}).items()}
    return found


def as_text(bundle: dict) -> str:
    """The plain text of a glued value (a glued string's repr loses its quotes)."""
    text = "".join(bundle.get("text/plain", ""))
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text

