"""Numbers the model cards publish (``card000`` to ``card003`` in book/references.bib), kept apart from this run's.

They are quoted, not reproduced: each comes from its card, on that card's data and
protocol, and the book shows them in a separate table labelled as published.
"""

from __future__ import annotations

import pandas as pd

CARD_000 = "000 (multi-view ensemble, FF++ C23 -> Celeb-DF v2)"
CARD_001 = "001 (Deep SVDD + autoencoder, CIFAR-10 vs MNIST / Fashion-MNIST)"
CARD_002 = "002 (ViT-B/16 in21k, Celeb-DF v2 frames)"

# (card, model, test set, metric, value)
_ROWS = [
    (CARD_000, "resnet18", "FF++ C23 test (900 videos)", "AUC", 0.9999),
    (CARD_000, "efficientnet_b4", "FF++ C23 test (900 videos)", "AUC", 1.0000),
    (CARD_000, "r3d18", "FF++ C23 test (900 videos)", "AUC", 0.9991),
    (CARD_000, "vit_b16", "FF++ C23 test (900 videos)", "AUC", 0.9992),
    (CARD_000, "r3d18_flow", "FF++ C23 test (900 videos)", "AUC", 0.9993),
    (CARD_000, "soft-vote ensemble of the five", "FF++ C23 test (900 videos)", "AUC", 1.0000),
    (CARD_000, "efficientnet_b4", "Celeb-DF v2 (6528 videos)", "AUC", 0.8173),
    (CARD_000, "resnet18", "Celeb-DF v2 (6528 videos)", "AUC", 0.8209),
    (CARD_000, "r3d18", "Celeb-DF v2 (6528 videos)", "AUC", 0.8413),
    (CARD_000, "r3d18_flow", "Celeb-DF v2 (6528 videos)", "AUC", 0.8744),
    (CARD_000, "vit_b16", "Celeb-DF v2 (6528 videos)", "AUC", 0.8777),
    (CARD_000, "soft-vote ensemble of the five", "Celeb-DF v2 (6528 videos)", "AUC", 0.9056),
    (CARD_000, "vit_b16 (best single model)", "gap", "in-domain minus cross-domain AUC", 0.1216),
    (CARD_000, "soft-vote ensemble of the five", "gap", "in-domain minus cross-domain AUC", 0.0944),
    (CARD_001, "deep_svdd + autoencoder", "800 test images", "accuracy", 0.7750),
    (CARD_001, "deep_svdd + autoencoder", "800 test images", "recall", 0.8875),
    (CARD_001, "deep_svdd + autoencoder", "800 test images", "model agreement", 0.53),
    (CARD_002, "vit_in21k", "Celeb-DF v2 test images (76134)", "accuracy", 0.6999),
]


def published_table() -> pd.DataFrame:
    """The cards' own numbers, one row each, labelled as published."""
    return pd.DataFrame(_ROWS, columns=["card", "model", "test set", "metric", "published value"])


def published_value(model: str, metric: str, test_set: str | None = None) -> float:
    table = published_table()
    rows = table[(table["model"] == model) & (table["metric"] == metric)]
    if test_set is not None:
        rows = rows[rows["test set"] == test_set]
    return float(rows["published value"].item())
