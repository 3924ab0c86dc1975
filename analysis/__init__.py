"""Multi-view anomaly ensembles for deepfake detection: the study's importable package.

Each module implements one stage of the data flow described in the README:
manifests and splits, the embedded benchmark, preprocessing, models, training,
metrics, ensembles, and the book driver.
"""

__version__ = "0.1.0"
