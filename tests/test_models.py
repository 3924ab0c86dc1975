"""The model registry and the builders."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from analysis.errors import UserInputError
from analysis.models import create_model, get_spec, list_models, register_model
from analysis.models.registry import ModelSpec
from analysis.models.networks import video_classifier
from analysis.profiles import get_profile

SEED_000 = ["resnet18", "efficientnet_b4", "vit_b16", "r3d18", "r3d18_flow"]


def dummy_input(name: str, profile: str, batch: int = 2) -> torch.Tensor:
    spec, variant = get_spec(name), get_profile(profile).variant(name)
    size, frames = variant.input_size, variant.frames
    if spec.input_kind == "frame":
        return torch.randn(batch, 3, size, size)
    if spec.input_kind == "sequence":
        return torch.randn(batch, frames, 3, size, size)
    return torch.randn(batch, 3, frames, size, size)


def test_registry_holds_every_card_model():
    assert set(SEED_000 + ["vit_in21k", "resnext50_lstm"]) <= set(list_models())
    assert list_models("r3d18*") == ["r3d18", "r3d18_flow"]
    assert "r3d18_flow" not in list_models("r3d*", exclude="*flow")


def test_duplicate_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_model(ModelSpec("resnet18", "spatial", "frame", "single_stage", "000", builder=lambda v, **k: None))
    with pytest.raises(UserInputError, match="Unknown model 'resnet19'; choose one of resnet18"):
        get_spec("resnet19")
    with pytest.raises(UserInputError, match="no variant 'tiny'; choose one of"):
        get_spec("resnet18").variant("tiny")  # no silent fallback to another variant


def test_registry_queries_by_card_view_and_schedule():
    assert list_models(card="000") == SEED_000
    assert list_models(schedule="one_class") == ["deep_svdd", "autoencoder"]
    assert list_models(view="temporal") == ["r3d18", "r3d18_flow", "resnext50_lstm"]
    assert list_models("r3d*", card="000", exclude="*flow") == ["r3d18"]


def test_every_model_names_its_head_and_loss():
    from analysis.models.base import ANOMALY, CROSS_ENTROPY

    for name in list_models():
        model = create_model(name, get_profile("tiny"))
        head = {id(p) for p in model.head_parameters()}
        assert head and head <= {id(p) for p in model.parameters()}
        assert model.loss_kind == (ANOMALY if get_spec(name).one_class else CROSS_ENTROPY)


@pytest.mark.parametrize("name", sorted(set(SEED_000 + ["vit_in21k", "resnext50_lstm"])))
def test_tiny_variant_gives_two_logits(name):
    torch.manual_seed(0)
    model = create_model(name, get_profile("tiny")).eval()
    with torch.no_grad():
        assert model(dummy_input(name, "tiny")).shape == (2, 2)


def test_paper_variants_follow_the_cards():
    assert get_spec("r3d18").variant("paper").input_size == 112
    assert get_spec("r3d18").variant("paper").frames == 16
    assert get_spec("resnext50_lstm").variant("paper").frames == 20
    assert get_spec("vit_in21k").variant("paper").mean == (0.5, 0.5, 0.5)  # timm's own ViT normalisation
    supervised = [n for n in list_models() if not get_spec(n).one_class]
    assert all(get_spec(n).variant("paper").pretrained for n in supervised)
    # card 001 trains its scorers from scratch on 128 x 128 RGB images
    for name in ("deep_svdd", "autoencoder"):
        variant = get_spec(name).variant("paper")
        assert not variant.pretrained and variant.input_size == 128
    assert {get_spec(n).view for n in SEED_000} == {"spatial", "global", "temporal"}


def test_cpu_temporal_members_are_r3d10_with_one_block_per_stage():
    r3d10 = create_model("r3d18", get_profile("cpu")).network
    assert [len(getattr(r3d10, f"layer{i}")) for i in range(1, 5)] == [1, 1, 1, 1]
    with torch.no_grad():
        assert r3d10(torch.zeros(1, 3, 8, 32, 32)).shape == (1, 2)
    with pytest.raises(UserInputError, match="no pretrained weights"):
        video_classifier(replace(get_spec("r3d18").variant("cpu"), pretrained=True))


def test_the_cpu_resnet_and_r3ds_are_half_width_and_the_width_setting_restores_the_full():
    from analysis.profiles import apply_overrides
    from analysis.models.networks import STAGE_WIDTHS

    def stage_widths(network, conv):
        return [conv(getattr(network, f"layer{i}")[-1]).out_channels for i in range(1, 5)]

    cpu = get_profile("cpu")
    resnet = create_model("resnet18", cpu).network
    assert stage_widths(resnet, lambda block: block.conv2) == [32, 64, 128, 256]
    for name in ("r3d18", "r3d18_flow"):
        r3d = create_model(name, cpu).network
        assert stage_widths(r3d, lambda block: block.conv2[0]) == [w // 2 for w in STAGE_WIDTHS]
        assert r3d.fc.in_features == 256
    assert r3d.stem.stem[0].in_channels == 6 and r3d.stem.stem[0].out_channels == 32  # the change-over-time stem kept
    # started as torchvision starts an R3D: conv weights ~ N(0, 2 / fan_out)
    conv = r3d.layer2[0].conv1[0].weight
    fan_out = conv.shape[0] * conv[0, 0].numel()
    assert abs(conv.std().item() - (2 / fan_out) ** 0.5) < 0.1 * (2 / fan_out) ** 0.5
    with torch.no_grad():
        assert r3d(torch.zeros(1, 3, 8, 32, 32)).shape == (1, 2)
        assert resnet(torch.zeros(1, 3, 64, 64)).shape == (1, 2)
    full = apply_overrides(cpu, ["per_model.resnet18.width=1.0", "per_model.r3d18.width=1.0"])
    assert stage_widths(create_model("resnet18", full).network, lambda block: block.conv2) == list(STAGE_WIDTHS)
    assert stage_widths(create_model("r3d18", full).network, lambda block: block.conv2[0]) == list(STAGE_WIDTHS)
    for override, model in (("per_model.deep_svdd.width=0.5", "deep_svdd"), ("per_model.resnet18.width=1.5", "resnet18"),
                            ("per_model.r3d18.width=0", "r3d18")):
        with pytest.raises(UserInputError, match="width"):
            create_model(model, apply_overrides(cpu, [override]))
    with pytest.raises(UserInputError, match="random init"):  # the card's Kinetics weights fix R3D-18's widths
        video_classifier(replace(get_profile("paper").variant("r3d18"), width=0.5))


@pytest.mark.parametrize("name, read_width", [
    ("efficientnet_b4", lambda network: (network.conv_stem.out_channels, network.num_features)),
    ("resnext50_lstm", lambda network: (network.backbone.stem.conv1.conv.out_channels, network.backbone.num_features)),
    ("vit_b16", lambda network: (network.embed_dim, network.blocks[0].mlp.fc1.out_features)),
])
def test_a_width_narrows_every_cpu_cnn_and_vit_from_its_stem_to_its_features(name, read_width):
    from analysis.profiles import apply_overrides

    cpu = get_profile("cpu")
    assert cpu.variant(name).width == 0.5  # the cpu stand-in, chosen on validation (profiles.py)
    full, half = (create_model(name, apply_overrides(cpu, [f"per_model.{name}.width={w}"])) for w in (1.0, 0.5))
    network = (lambda model: getattr(model, "network", model))
    wide, narrow = read_width(network(full)), read_width(network(half))
    assert [round(n / w, 2) for n, w in zip(narrow, wide)] == [0.5, 0.5]
    clips = torch.zeros(1, 8, 3, 32, 32) if name == "resnext50_lstm" else torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        assert network(half)(clips).shape == (1, 2)
    with pytest.raises(UserInputError, match="pretrained"):  # ImageNet weights fix the widths
        create_model(name, apply_overrides(cpu, [f"per_model.{name}.width=0.5", f"per_model.{name}.pretrained=true"]))


@pytest.mark.parametrize("name", ["r3d18", "resnext50_lstm", "vit_b16"])
def test_channels_last_is_a_memory_order_the_profile_can_choose_and_computes_the_same_function(name):
    """A profile can train a model in channels-last order (``per_model.M.channels_last``);
    clip models take the 3-D order, and the model's outputs stay the same up to rounding."""
    from analysis.profiles import apply_overrides
    from analysis.training.crop_datasets import channels_last_format, model_layout

    cpu = apply_overrides(get_profile("cpu"), [f"per_model.{name}.channels_last=false"])
    changed = apply_overrides(cpu, [f"per_model.{name}.channels_last=true"])
    assert changed.variant(name).channels_last and not cpu.variant(name).channels_last
    assert changed.variant("resnet18") == cpu.variant("resnet18")
    assert get_profile("cpu").variant("resnext50_lstm").channels_last  # the one the cpu profile orders so
    spec, variant = get_spec(name), changed.variant(name)
    assert channels_last_format(spec) == (torch.channels_last_3d if name == "r3d18" else torch.channels_last)
    torch.manual_seed(0)
    model = create_model(name, changed).eval()
    frames = 1 if spec.input_kind == "frame" else variant.frames
    batch = torch.randn(2, frames, 3, variant.input_size, variant.input_size)
    with torch.no_grad():
        plain = model(model_layout(batch, spec))
        ordered = model.to(memory_format=channels_last_format(spec))(model_layout(batch, spec, channels_last=True))
    torch.testing.assert_close(ordered, plain, rtol=1e-4, atol=1e-5)


def test_offline_pretrained_without_weights_names_the_file(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network: fail fast
    with pytest.raises(UserInputError, match=r"resnet18\.tv_in1k\.safetensors"):
        create_model("resnet18", get_profile("paper"), weights_dir=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(SEED_000 + ["vit_in21k", "resnext50_lstm"])))
def test_paper_configuration_trains_one_step_on_cpu(name):
    from dataclasses import replace

    from analysis.models import replace_pretrained

    spec = get_spec(name)
    model = spec.builder(replace_pretrained(spec.variant("paper")))
    inputs = dummy_input(name, "paper", batch=2)
    loss = torch.nn.functional.cross_entropy(model(inputs), torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_cpu_vits_replace_the_patchify_layer_with_a_convolutional_stem():
    from analysis.models.networks import ConvStemPatchEmbed, timm_backbone

    cpu = get_profile("cpu")
    for name in ("vit_b16", "vit_in21k"):
        variant = cpu.variant(name)
        network = timm_backbone(variant, 2, None)
        embed = network.patch_embed
        assert isinstance(embed, ConvStemPatchEmbed)
        strides = [m.stride[0] for m in embed.proj if isinstance(m, torch.nn.Conv2d)]
        assert strides == [2, 2, 2, 2, 1]  # 16 px patches, as the patchify layer it replaces
        tokens = embed(torch.zeros(2, 3, variant.input_size, variant.input_size))
        assert tokens.shape == (2, (variant.input_size // 16) ** 2, network.embed_dim)
        assert not get_profile("paper").variant(name).conv_stem  # the cards' ViTs keep their weights
    with pytest.raises(UserInputError, match="convolutional stem has no pretrained weights"):
        timm_backbone(replace(cpu.variant("vit_b16"), pretrained=True), 2, None)


def test_cpu_r3ds_read_the_clip_and_its_change_over_time():
    from analysis.models.networks import RESIDUAL_GAIN, TemporalResidualStem, video_classifier

    cpu = get_profile("cpu")
    for name in ("r3d18", "r3d18_flow"):
        variant = cpu.variant(name)
        stem = video_classifier(variant).network.stem
        assert isinstance(stem, TemporalResidualStem) and stem.stem[0].in_channels == 6
        assert not get_profile("paper").variant(name).temporal_residual  # the card's R3D-18 keeps its weights
    stem.eval()
    still = torch.rand(1, 3, 1, 16, 16).expand(1, 3, variant.frames, 16, 16)
    moving = still.clone()
    moving[:, :, 0] += 1.0  # the first frame differs from the rest
    # a clip that does not change over time gives the change half nothing ...
    torch.testing.assert_close(stem.stem(torch.cat([still, torch.zeros_like(still)], 1)), stem(still))
    # ... and one that does feeds the change, scaled, to the other half
    change = moving - moving.mean(dim=2, keepdim=True)
    torch.testing.assert_close(stem.stem(torch.cat([moving, RESIDUAL_GAIN * change], 1)), stem(moving))
    assert not torch.allclose(stem(moving), stem.stem(torch.cat([moving, torch.zeros_like(moving)], 1)))
    with pytest.raises(UserInputError, match="temporal-residual stem has no pretrained weights"):
        video_classifier(replace(get_profile("paper").variant("r3d18"), temporal_residual=True))


def test_cpu_sequence_model_reads_the_change_and_trains_its_lstm_slower():
    from analysis.models.networks import RESIDUAL_GAIN, sequence_classifier
    from analysis.profiles import ONE_CYCLE, Recipe
    from analysis.training.trainer import make_optimizer

    variant = get_profile("cpu").variant("resnext50_lstm")
    model = sequence_classifier(replace(variant, input_size=32, frames=4)).eval()
    seen = []
    model.backbone.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    clip = torch.rand(1, 4, 3, 32, 32)
    logits = model(clip)
    frames = seen[0].view(1, 4, 6, 32, 32)  # each frame as six channels: itself and its change
    torch.testing.assert_close(frames[:, :, :3], clip)
    torch.testing.assert_close(frames[:, :, 3:], RESIDUAL_GAIN * (clip - clip.mean(dim=1, keepdim=True)))
    # the head reads the LSTM's outputs averaged over time, not its last state
    with torch.no_grad():
        outputs = model.lstm(model.backbone(seen[0]).view(1, 4, -1))[0]
        torch.testing.assert_close(logits, model.head(outputs.mean(dim=1)))
        assert not torch.allclose(logits, model.head(outputs[:, -1]))

    recipe = Recipe(0, 2, 8, 1e-3, 1e-3, 0.0, patience=1, train_frames_per_video=None, schedule=ONE_CYCLE)
    optimizer, _ = make_optimizer(model, recipe, "finetune", steps=10)
    lstm = {id(p) for p in model.lstm.parameters()}
    rates = {id(p): group["max_lr"] for group in optimizer.param_groups for p in group["params"]}
    assert sorted({rates[i] for i in lstm}) == pytest.approx([1e-3 * variant.lstm_lr_scale])
    assert sorted({rate for i, rate in rates.items() if i not in lstm}) == pytest.approx([1e-3])
    assert variant.lstm_lr_scale < 1 and get_profile("paper").variant("resnext50_lstm").lstm_lr_scale == 1
    with pytest.raises(UserInputError, match="change over time has no pretrained weights"):
        sequence_classifier(replace(get_profile("paper").variant("resnext50_lstm"), temporal_residual=True))


def test_the_model_table_counts_the_parameters_of_the_models_as_built():
    """The table builds its models on the meta device (no memory, no initialisation): its
    counts are those of the models built for training."""
    from analysis.models import model_table

    profile = get_profile("cpu")
    table = model_table([profile]).set_index("model")
    for name in ("resnet18", "r3d18_flow", "vit_b16", "deep_svdd"):
        built = create_model(name, profile)
        assert table.loc[name, "cpu params (M)"] == round(sum(p.numel() for p in built.parameters()) / 1e6, 1)
        assert next(built.parameters()).device.type == "cpu"  # the meta device stayed inside the table
