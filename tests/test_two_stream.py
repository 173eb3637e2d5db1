import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _threads import one_thread  # noqa: F401  (autouse: one thread per test)
from safetensors.torch import save_file
from torchvision.models import mobilenet_v3_small, resnet18

from faslearn.models.two_stream import (
    FPM_DIRECTIONS,
    DifferenceBranch,
    FeaturePyramid,
    MultiFrameBranch,
    PyramidBackbone,
    PyramidPooling,
    TwoStream,
    fuse_scores,
    inflate_first_conv,
    parameter_count,
    rgb_differences,
)

B, T, SIZE, WIDTH = 2, 4, 64, 0.5


def clip(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(B, T, 3, SIZE, SIZE, generator=generator) * 2 - 1


def test_backbone_levels_are_the_five_down_sampling_stages():
    backbone = PyramidBackbone(width=WIDTH)
    levels = backbone(torch.zeros(B, 3, SIZE, SIZE))
    assert [tuple(level.shape[-2:]) for level in levels] == [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]
    assert tuple(level.shape[1] for level in levels) == backbone.out_channels


@pytest.mark.parametrize("fpm", FPM_DIRECTIONS)
@pytest.mark.parametrize("ppm", [True, False])
def test_output_shapes(fpm, ppm):
    torch.manual_seed(0)
    x = clip()
    assert MultiFrameBranch(fpm=fpm, ppm=ppm, width=WIDTH)(x).shape == (B,)
    assert MultiFrameBranch(fpm=fpm, ppm=ppm, temporal=False, width=WIDTH)(x).shape == (B,)
    assert DifferenceBranch(3 * (T - 1), fpm=fpm, ppm=ppm, width=WIDTH)(rgb_differences(x)).shape == (B,)


def test_odd_input_size_fuses_in_both_directions():
    x = torch.randn(1, 3, 3, 45, 45)  # maps 23, 12, 6, 3, 2: not exact halvings
    for fpm in ("top_down", "bottom_up"):
        assert MultiFrameBranch(fpm=fpm, width=WIDTH)(x).shape == (1,)


def test_feature_pyramid_directions():
    torch.manual_seed(0)
    channels = (4, 5, 6, 7, 8)
    levels = [torch.randn(2, c, 32 >> i, 32 >> i) for i, c in enumerate(channels)]
    pyramids = {fpm: FeaturePyramid(channels, 3, fpm) for fpm in FPM_DIRECTIONS}
    for pyramid in pyramids.values():
        pyramid.load_state_dict(pyramids[None].state_dict())  # the same laterals
    with torch.no_grad():
        lateral = pyramids[None](levels)
        top_down, bottom_up = pyramids["top_down"](levels), pyramids["bottom_up"](levels)
    assert all(torch.equal(p, conv(c)) for p, conv, c in zip(lateral, pyramids[None].laterals, levels))
    # nearest upsampling is linear and ×2 twice is ×4: the finest top-down map sums every level
    upsampled = [p.repeat_interleave(2 ** i, dim=-2).repeat_interleave(2 ** i, dim=-1)
                 for i, p in enumerate(lateral)]
    torch.testing.assert_close(top_down[0], sum(upsampled))
    assert torch.equal(top_down[4], lateral[4]) and torch.equal(bottom_up[0], lateral[0])
    torch.testing.assert_close(bottom_up[1], lateral[1] + F.max_pool2d(lateral[0], 2))


def test_pyramid_pooling_keeps_the_layout_in_one_vector():
    pooling = PyramidPooling(48)
    assert pooling.out_features == (1 + 4 + 9 + 36) * 12
    assert pooling(torch.randn(3, 48, 2, 2)).shape == (3, pooling.out_features)


def test_bad_fpm_names_the_options():
    with pytest.raises(ValueError, match="top_down.*bottom_up"):
        MultiFrameBranch(fpm="top-down")


def test_rgb_differences():
    levels = torch.tensor([0.0, 0.5, -0.25, 1.0])
    x = levels.view(1, T, 1, 1, 1).expand(B, T, 3, 5, 7)  # frame t is the constant c_t
    d = rgb_differences(x)
    assert d.shape == (B, 3 * (T - 1), 5, 7)
    expected = (levels[1:] - levels[:-1]).repeat_interleave(3)  # channels: x1−x0 (RGB), x2−x1 (RGB), ...
    assert torch.equal(d, expected.view(1, -1, 1, 1).expand_as(d))
    assert torch.equal(rgb_differences(x[0]), d[0])
    with pytest.raises(ValueError):
        rgb_differences(x[:, :1])


def test_difference_branch_takes_a_clip_or_its_differences():
    torch.manual_seed(0)
    difference = DifferenceBranch(3 * (T - 1), width=WIDTH).eval()
    x = clip()
    with torch.no_grad():
        assert torch.equal(difference(x), difference(rgb_differences(x)))


def test_inflate_first_conv_averages_and_replicates():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=True)
    inflated = inflate_first_conv(conv, 9)
    assert inflated.weight.shape == (8, 9, 3, 3) and inflated.stride == (2, 2)
    for j in range(9):
        assert torch.equal(inflated.weight[:, j], conv.weight.mean(dim=1))
    assert torch.equal(inflated.bias, conv.bias)
    gray = torch.randn(2, 1, 11, 11)  # all channels equal: 9 copies give 9/3 × the conv of 3 copies
    no_bias = conv.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(inflated(gray.expand(-1, 9, -1, -1)) - no_bias,
                               3 * (conv(gray.expand(-1, 3, -1, -1)) - no_bias))


def test_lstm_uses_frame_order_and_single_frame_uses_frame_zero():
    torch.manual_seed(0)
    x = clip()
    multi = MultiFrameBranch(width=WIDTH).eval()
    single = MultiFrameBranch(temporal=False, width=WIDTH).eval()
    with torch.no_grad():
        assert not torch.allclose(multi(x), multi(x.flip(1)))
        other_frames = torch.cat([x[:, :1], clip(seed=1)[:, 1:]], dim=1)
        assert torch.equal(single(x), single(other_frames))
        assert torch.equal(single(x), single(x[:, 0]))


def test_gradients_reach_the_first_conv_of_both_branches():
    torch.manual_seed(0)
    model = TwoStream(MultiFrameBranch(width=WIDTH), DifferenceBranch(3 * (T - 1), width=WIDTH))
    model(clip()).sum().backward()
    for branch in (model.multi_frame, model.difference):
        grad = branch.features.backbone.stages[0][0][0].weight.grad
        assert grad is not None and grad.abs().sum() > 0


def test_two_stream_is_the_sum_of_the_branch_scores():
    torch.manual_seed(0)
    multi = MultiFrameBranch(width=WIDTH).eval()
    difference = DifferenceBranch(3 * (T - 1), width=WIDTH).eval()
    x = clip()
    with torch.no_grad():
        score = TwoStream(multi, difference)(x)
        expected = torch.sigmoid(multi(x)) + torch.sigmoid(difference(rgb_differences(x)))
    assert score.shape == (B,) and ((score >= 0) & (score <= 2)).all()
    torch.testing.assert_close(score, expected)
    torch.testing.assert_close(fuse_scores(torch.zeros(3)), torch.full((3,), 0.5))


def test_loads_local_weights_and_inflates_them(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "mobilenet_v3_small.safetensors"
    saved = mobilenet_v3_small(weights=None)
    save_file(saved.state_dict(), path)
    rgb = PyramidBackbone(weights_path=path)
    assert torch.equal(rgb.stages[4][-1][0].weight, saved.features[12][0].weight)  # the last 1×1 conv
    assert torch.equal(rgb.stages[2][0].block[0][1].running_var, saved.features[2].block[0][1].running_var)
    motion = DifferenceBranch(9, weights_path=path).features.backbone
    first = motion.stages[0][0][0].weight
    assert first.shape[1] == 9 and torch.equal(first[:, 4], saved.features[0][0].weight.mean(dim=1))


def test_wrong_weights_file_is_one_line_value_error(tmp_path):
    path = tmp_path / "half_width.safetensors"
    save_file(mobilenet_v3_small(weights=None, width_mult=0.5).state_dict(), path)
    with pytest.raises(ValueError, match="half_width.safetensors") as error:
        PyramidBackbone(weights_path=path)
    assert "\n" not in str(error.value)
    path = tmp_path / "resnet18.safetensors"
    save_file(resnet18(weights=None).state_dict(), path)
    with pytest.raises(ValueError, match="resnet18.safetensors.*missing") as error:
        PyramidBackbone(weights_path=path)
    assert "\n" not in str(error.value)
    with pytest.raises(FileNotFoundError):
        PyramidBackbone(weights_path=tmp_path / "absent.safetensors")


def test_documented_parameter_counts():
    assert parameter_count(MultiFrameBranch()) == 1_783_489
    assert parameter_count(DifferenceBranch(in_channels=27)) == 978_105
