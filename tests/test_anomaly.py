"""Model card 001's one-class scorers: no bias, a fixed centre, reconstruction error, reals only."""

from __future__ import annotations

import json

import pandas as pd
import torch

from analysis.data.manifest import read_manifest
from analysis.models import create_model, get_spec, list_models
from analysis.models.anomaly import CENTRE_EPS, ConvAutoencoder, DeepSVDD
from analysis.profiles import get_profile


def test_both_scorers_are_registered_as_one_class():
    assert {"deep_svdd", "autoencoder"} <= set(list_models())
    assert get_spec("deep_svdd").one_class and get_spec("autoencoder").one_class
    assert not get_spec("resnet18").one_class


def test_deep_svdd_has_no_bias_and_cannot_collapse_onto_its_centre():
    model = create_model("deep_svdd", get_profile("cpu"))
    assert not [name for name, _ in model.named_parameters() if name.endswith("bias")]
    torch.manual_seed(0)
    centre = model.fit_centre([torch.randn(8, 3, 64, 64), torch.randn(4, 3, 64, 64)])
    assert (centre.abs() >= CENTRE_EPS).all()
    model.eval()
    # without bias terms a zero input maps to the zero vector, which is never the centre
    blank = model(torch.zeros(2, 3, 64, 64))
    torch.testing.assert_close(blank, centre.pow(2).sum().repeat(2))
    assert "centre" not in dict(model.named_parameters())


def test_centre_is_the_mean_embedding_and_stays_fixed_while_training():
    torch.manual_seed(0)
    model = DeepSVDD(32)
    batches = [torch.randn(6, 3, 32, 32) for _ in range(3)]
    centre = model.fit_centre(batches).clone()
    model.eval()
    with torch.no_grad():
        mean = torch.cat([model.embedding(b) for b in batches]).mean(dim=0)
    expected = torch.where(mean.abs() < CENTRE_EPS, torch.sign(mean) * CENTRE_EPS, mean)
    expected[expected == 0] = CENTRE_EPS
    torch.testing.assert_close(centre, expected)
    model.train()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    model(batches[0]).mean().backward()
    optimiser.step()
    torch.testing.assert_close(model.centre, centre)


def test_autoencoder_scores_mean_squared_reconstruction_error():
    torch.manual_seed(0)
    model = ConvAutoencoder(32).eval()
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        reconstruction = model.reconstruct(images)
        scores = model(images)
    assert reconstruction.shape == images.shape
    torch.testing.assert_close(scores, ((reconstruction - images) ** 2).mean(dim=(1, 2, 3)))


def test_one_class_runs_train_on_reals_and_score_every_evaluation_video(prepared, trained_runs):
    manifest = read_manifest(prepared[0])
    train_reals = manifest[(manifest["domain"] == "source") & (manifest["split"] == "train") & (manifest["label"] == 0)]
    manifest = manifest[manifest["split"] != "train"]
    frames_per_video = get_profile("tiny").recipe.train_frames_per_video
    for model in ("deep_svdd", "autoencoder"):
        run = trained_runs / model
        record = json.loads((run / "record.json").read_text())
        assert record["train_items"] == len(train_reals) * frames_per_video
        scores = pd.read_csv(run / "scores.csv", dtype={"video_id": str})
        video = scores[scores["frame_index"] == -1]
        assert len(video) == len(manifest) and (video["score"] >= 0).all()
        assert len(scores) == len(manifest) * (1 + get_profile("tiny").preprocessing.frames_per_video)
        assert video["score"].nunique() > 1  # a collapsed scorer would give one value
