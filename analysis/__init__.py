"""Multi-view anomaly ensembles for deepfake detection: the study's importable package.

Each subpackage implements one stage of the data flow described in the README, in
the order of the book: data, benchmark, preprocess, models, training, evaluation and
book.
"""

import warnings

# timm (through huggingface_hub) and facenet-pytorch import tqdm.auto, which warns in a
# notebook kernel without ipywidgets; the package draws its own bars with plain tqdm
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
__all__ = ["Detector"]


def __getattr__(name: str):
    # ``analysis.Detector`` without importing torch for every ``import analysis``
    if name == "Detector":
        from analysis.detector import Detector

        return Detector
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
