"""Multi-view anomaly ensembles for deepfake detection: the study's importable package.

Each subpackage implements one stage of the data flow described in the README, in
the order of the book: data, benchmark, preprocess, models, training, evaluation and
book.
"""

__version__ = "0.1.0"
__all__ = ["Detector"]


def __getattr__(name: str):
    # ``analysis.Detector`` without importing torch for every ``import analysis``
    if name == "Detector":
        from analysis.detector import Detector

        return Detector
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
