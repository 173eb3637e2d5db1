import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.models import resnet18

from faslearn.losses import contrastive_depth_loss, depth_loss, depth_score, multitask_loss
from faslearn.models.baselines import MultiTaskNet, resnet18_binary


def explicit_contrastive_loss(pred, target):
    """Mean over the 8 neighbour offsets and all pixels of ((p_n − p_c) − (t_n − t_c))², 0 outside the map."""
    height, width = pred.shape[-2:]
    padded_pred, padded_target = F.pad(pred, (1, 1, 1, 1)), F.pad(target, (1, 1, 1, 1))
    squared = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if (dr, dc) == (0, 0):
                continue
            pred_neighbour = padded_pred[:, 1 + dr:1 + dr + height, 1 + dc:1 + dc + width]
            target_neighbour = padded_target[:, 1 + dr:1 + dr + height, 1 + dc:1 + dc + width]
            squared.append(((pred_neighbour - pred) - (target_neighbour - target)) ** 2)
    return torch.stack(squared).mean()


def test_contrastive_loss_matches_explicit_neighbour_differences():
    torch.manual_seed(0)
    pred, target = torch.rand(3, 8, 8), torch.rand(3, 8, 8)
    torch.testing.assert_close(contrastive_depth_loss(pred, target), explicit_contrastive_loss(pred, target))
    assert contrastive_depth_loss(pred, target) > 0
    assert contrastive_depth_loss(target, target) == 0


def test_depth_loss_by_hand():
    # 2×2 map of ones vs zeros: MSE = 1. Each pixel of the ones map has 3 neighbours inside (difference 0)
    # and 5 in the zero padding (difference −1): contrastive = (4 pixels · 5) / (4 · 8) = 0.625.
    ones, zeros = torch.ones(1, 2, 2), torch.zeros(1, 2, 2)
    torch.testing.assert_close(contrastive_depth_loss(zeros, ones), torch.tensor(0.625))
    torch.testing.assert_close(depth_loss(zeros, ones), torch.tensor(1.625))
    # (B, 1, H, W) maps give the same value
    torch.testing.assert_close(depth_loss(zeros[:, None], ones[:, None]), torch.tensor(1.625))


def test_depth_loss_trains_a_map():
    pred = torch.zeros(2, 4, 4, requires_grad=True)
    depth_loss(pred, torch.rand(2, 4, 4)).backward()
    assert pred.grad.abs().sum() > 0


def test_mismatched_or_malformed_maps_are_rejected():
    with pytest.raises(ValueError, match="same shape"):
        depth_loss(torch.zeros(2, 8, 8), torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="same shape"):
        contrastive_depth_loss(torch.zeros(2, 1, 8, 8), torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        depth_loss(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        depth_score(torch.zeros(8, 8))


def test_depth_score_is_the_map_mean():
    maps = torch.stack([torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.zeros(2, 2)])
    torch.testing.assert_close(depth_score(maps), torch.tensor([2.5, 0.0]))
    torch.testing.assert_close(depth_score(maps[:, None]), torch.tensor([2.5, 0.0]))


def test_multitask_loss_is_the_weighted_sum():
    torch.manual_seed(0)
    outputs = {"depth": torch.rand(2, 4, 4), "reflection": torch.rand(2, 3, 4, 4),
               "logit": torch.tensor([2.0, -1.0])}
    targets = {"depth": torch.rand(2, 4, 4), "reflection": torch.rand(2, 3, 4, 4),
               "label": torch.tensor([1, 0])}
    # BCE by hand: −log σ(2) for the bona fide sample, −log(1 − σ(−1)) for the attack
    bce = -(torch.log(torch.sigmoid(torch.tensor(2.0)))
            + torch.log(1 - torch.sigmoid(torch.tensor(-1.0)))) / 2
    reflection_mse = ((outputs["reflection"] - targets["reflection"]) ** 2).mean()
    expected = 0.5 * depth_loss(outputs["depth"], targets["depth"]) + 2.0 * bce + 3.0 * reflection_mse
    torch.testing.assert_close(multitask_loss(outputs, targets, lambdas=(0.5, 2.0, 3.0)), expected)
    # a term with λ = 0 is skipped and may be missing; a needed one may not
    without_reflection = {k: v for k, v in targets.items() if k != "reflection"}
    torch.testing.assert_close(multitask_loss(outputs, without_reflection, lambdas=(0.5, 2.0, 0.0)),
                               expected - 3.0 * reflection_mse)
    with pytest.raises(ValueError, match="reflection"):
        multitask_loss(outputs, without_reflection)


@pytest.mark.parametrize("backbone, reflection_channels", [("resnet18", 3), ("cdcn", 1)])
def test_multitask_net_trains_on_multitask_loss(backbone, reflection_channels):
    torch.manual_seed(0)
    model = MultiTaskNet(backbone=backbone, reflection_channels=reflection_channels)
    outputs = model(torch.randn(2, 3, 32, 48))  # maps at 1/8: 4 × 6
    assert outputs["depth"].shape == (2, 4, 6)
    assert outputs["reflection"].shape == (2, reflection_channels, 4, 6)
    assert outputs["logit"].shape == (2,)
    targets = {"depth": torch.rand(2, 4, 6), "reflection": torch.rand(2, reflection_channels, 4, 6),
               "label": torch.tensor([1.0, 0.0])}
    multitask_loss(outputs, targets).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_multitask_net_rejects_unknown_backbone():
    with pytest.raises(ValueError, match="backbone"):
        MultiTaskNet(backbone="vgg16")


def test_resnet18_binary_loads_local_imagenet_shaped_weights(tmp_path):
    source = resnet18(weights=None)  # 1000-class head, as in converted ImageNet weights
    path = tmp_path / "resnet18.safetensors"
    save_file(source.state_dict(), str(path))
    model = resnet18_binary(weights_path=path)
    assert torch.equal(model.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    assert model.fc.weight.shape == (1, 512)  # fresh one-logit head
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 1)
    with pytest.raises(FileNotFoundError):
        resnet18_binary(weights_path=tmp_path / "missing.safetensors")
    save_file({"conv1.weight": torch.zeros(64, 1, 7, 7)}, str(tmp_path / "wrong.safetensors"))
    with pytest.raises(ValueError, match="ResNet-18"):
        resnet18_binary(weights_path=tmp_path / "wrong.safetensors")


@pytest.mark.parametrize("content", [b"\x93NUMPY random bytes" * 50, b'{"not": "safetensors"}'])
def test_resnet18_binary_names_a_weights_file_that_is_not_safetensors(tmp_path, content):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{path} is not a valid ResNet-18 weights file: .+ \\(expected a "
                                         "safetensors ResNet-18 state dict\\)$"):
        resnet18_binary(weights_path=path)
