"""The contract every registered detector keeps (faslearn.models.registry), one test per promise,
parametrised over ``list_models()``: a model registered later is tested here without being listed."""
import pytest
import torch

from faslearn.checkpoints import load_weights, save_checkpoint
from faslearn.losses import BINARY, DANN, DEPTH, MULTITASK, SSDG
from faslearn.models import Conv2dCD, create_model, fold_cdc, list_models, model_entry, model_objective

SIZE, MAP = 64, 8
SMALL = {"theta": 0.7, "width": 0.125, "map_size": MAP}  # the settings a model takes, small for a CPU
SMALL_VIT = {"width": 32, "depth": 2, "heads": 2, "cue_dim": 16}  # transformers: width counts channels


def build(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    small = SMALL_VIT if "depth" in model_entry(name).settings else SMALL
    settings = {k: v for k, v in small.items() if k in model_entry(name).settings}
    return create_model(name, **settings).eval()


def images(n: int = 2, channels: int = 3) -> torch.Tensor:
    return torch.rand(n, channels, SIZE, SIZE, generator=torch.Generator().manual_seed(1)) * 2 - 1


def inputs_of(name: str, n: int = 2) -> torch.Tensor:
    """What model ``name`` reads: images, or images and their cue stacked (``model_entry(name).inputs``)."""
    return images(n, model_entry(name).in_channels)


def outputs_of(name: str, model) -> dict:
    with torch.no_grad():
        out = model(inputs_of(name))
    return out if isinstance(out, dict) else {"output": out}


@pytest.mark.parametrize("name", list_models())
def test_a_registered_model_gives_its_objectives_outputs_and_one_score_per_image(name):
    model = build(name)
    outputs = outputs_of(name, model)
    objective = model_objective(name)
    if objective is DEPTH:
        assert outputs["output"].shape == (2, MAP, MAP) and (outputs["output"] >= 0).all()
    elif objective in (BINARY, SSDG, DANN):  # in evaluation mode a domain-generalised model returns its logit
        assert outputs["output"].reshape(-1).shape == (2,)  # (B,) or (B, 1) logits
    else:
        assert objective is MULTITASK
        assert outputs["depth"].shape == (2, MAP, MAP) and outputs["logit"].shape == (2,)
    raw = model(inputs_of(name)) if objective is MULTITASK else outputs["output"]
    score = objective.score(raw, {})
    assert score.shape == (2,) and torch.isfinite(score).all()


@pytest.mark.parametrize("name", list_models())
def test_a_registered_model_survives_a_state_dict_round_trip_through_a_checkpoint(name, tmp_path):
    model, other = build(name, seed=0), build(name, seed=1)
    save_checkpoint(tmp_path / "model.safetensors", model)
    load_weights(other, tmp_path / "model.safetensors")
    for key, value in outputs_of(name, model).items():
        torch.testing.assert_close(outputs_of(name, other)[key], value, rtol=0, atol=0)


@pytest.mark.parametrize("name", [n for n in list_models()
                                  if any(isinstance(m, Conv2dCD) for m in build(n).modules())])
def test_a_registered_model_with_cdc_layers_folds_into_plain_convolutions_that_compute_the_same(name):
    model = build(name)
    folded = fold_cdc(model)
    assert not any(isinstance(m, Conv2dCD) for m in folded.modules())
    for key, value in outputs_of(name, model).items():
        torch.testing.assert_close(outputs_of(name, folded)[key], value, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", [n for n in list_models() if model_entry(n).exportable])
def test_an_exportable_registered_model_writes_onnx_that_matches_pytorch(name, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from faslearn.export import export_onnx, onnx_parity

    model = build(name)
    path = export_onnx(model, model_objective(name), tmp_path / f"{name}.onnx", SIZE, model_entry(name).in_channels)
    assert onnx_parity(model, model_objective(name), path, inputs_of(name, 3)) < 1e-4  # another batch size


def test_an_unknown_model_or_setting_is_one_line_naming_what_is_registered():
    with pytest.raises(ValueError, match=r"unknown model 'cdnc' \(did you mean 'cdcn'\?\); expected one of \["):
        create_model("cdnc")
    with pytest.raises(ValueError, match=r"model 'resnet18' takes the settings \[\], got \['theta'\]"):
        create_model("resnet18", theta=0.7)


@pytest.mark.parametrize("settings, expected", [
    ({"width": "a"}, "width (a channel multiplier) must be a number > 0 and <= 64, got 'a'"),
    ({"width": float("nan")}, "width (a channel multiplier) must be a number > 0 and <= 64, got nan"),
    ({"width": True}, "width (a channel multiplier) must be a number > 0 and <= 64, got True"),
    ({"map_size": 0}, "map_size must be a whole number >= 1, got 0"),
    ({"map_size": 2.5}, "map_size must be a whole number >= 1, got 2.5"),
    ({"map_size": (3,)}, "map_size must be a whole number >= 1, a (height, width) pair or None, got (3,)"),
    ({"theta": "0.7"}, "theta must be a number in [0, 1], got '0.7'"),
])
@pytest.mark.parametrize("name", [n for n in list_models() if "width" in model_entry(n).settings
                                  and "depth" not in model_entry(n).settings])  # a transformer's width: test_oanet
def test_a_registered_model_refuses_settings_outside_their_range_in_one_line(name, settings, expected):
    with pytest.raises(ValueError) as error:
        create_model(name, **settings)
    assert str(error.value) == expected
