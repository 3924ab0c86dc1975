"""Reading the logs the stages write: what a failed run's log says once its progress
bars are set aside (a training run's log is mostly bars; the traceback is its last lines)."""

from __future__ import annotations

import re
from pathlib import Path

# a tqdm line: "45%|####5     | 9/20" or its "[00:03<00:04" timer
PROGRESS_BAR = re.compile(r"\d+%\|[^|\n]*\|\s*\d+/\d+|\[\d+:\d+<(?:\d+:\d+|\?)")
# a line up to the end of its last bar: what a crash prints after a bar can share its line
UP_TO_LAST_BAR = re.compile(rf"^.*(?:{PROGRESS_BAR.pattern})[^\]\n]*\]?")


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of the log at ``path`` with its progress bars taken out, or
    "" when there is no such log."""
    try:
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.rstrip() for line in (UP_TO_LAST_BAR.sub("", line) for line in re.split(r"[\r\n]", text))
            if line.strip()]
    return "\n".join(kept[-lines:])
