"""The worker processes of ``python -m analysis run``, forked from one server that has
imported the heavy modules once.

A new interpreter spends 5.5 s importing torch, torchvision, timm, scikit-learn and the
trainer on a 2-core machine at probe 95 (about 12 s at the slowest speed, 47), and a
build starts eleven such processes: the speed probe's two, the crop cache's shards and
every training run. Forked from this server (on Linux), each still has its own memory,
output and exit status, as a new interpreter has, but starts in a tenth of a second.
"""

from __future__ import annotations

import sys
from multiprocessing import get_context
from multiprocessing.context import BaseContext

PRELOAD = ("torch", "torchvision", "timm", "sklearn.metrics", "pandas", "cv2", "av", "facenet_pytorch",
           "analysis.cli", "analysis.models.networks", "analysis.preprocess.pipeline",
           "analysis.training.trainer", "analysis.training.speed_probe")


def context() -> BaseContext:
    """The multiprocessing context whose processes fork from the preloaded server (started,
    with :data:`PRELOAD` imported, by the first process it starts). On Linux only: on macOS
    a fork after system frameworks have loaded (OpenCV's, for one) can crash the child, so
    there, as on Windows, each process is a new interpreter (``spawn``), as before."""
    if sys.platform != "linux":
        return get_context("spawn")
    forkserver = get_context("forkserver")
    forkserver.set_forkserver_preload(list(PRELOAD))
    return forkserver
