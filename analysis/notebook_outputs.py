"""Read what executed chapters glued, so other pages can show it again without
recomputing or retyping it (the results summary) or list where it came from (provenance)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

RECORD_PREFIX = "application/papermill.record/"


def glued_outputs(notebook: Path) -> dict[str, dict]:
    """Every glued output of an executed notebook: key -> its MIME bundle."""
    found = {}
    for cell in json.loads(Path(notebook).read_text())["cells"]:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:  # values glued with display=False carry a papermill prefix on their MIME types
                found[name] = {mime.removeprefix(RECORD_PREFIX): data for mime, data in output.get("data", {}).items()}
    return found


def as_text(bundle: dict) -> str:
    """The plain text of a glued value (a glued string's repr loses its quotes)."""
    text = "".join(bundle.get("text/plain", ""))
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def reglue(notebook: Path, keys: list[str], prefix: str = "") -> None:
    """Glue again, in the running notebook, values and figures another chapter glued:
    figures as images, everything else as text, each under ``prefix + key``."""
    from IPython.display import Image
    from myst_nb import glue

    outputs = glued_outputs(notebook)
    missing = [k for k in keys if k not in outputs]
    if missing:
        raise KeyError(f"{notebook} glued no {', '.join(missing)}: re-execute that chapter first")
    for key in keys:
        bundle = outputs[key]
        if "image/png" in bundle:
            glue(prefix + key, Image(data=base64.b64decode(bundle["image/png"])), display=False)
        else:
            glue(prefix + key, as_text(bundle), display=False)
