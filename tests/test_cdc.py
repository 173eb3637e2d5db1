import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from faslearn.models.baselines import MultiTaskNet
from faslearn.models.cdc import CDCN, CDCNpp, Conv2dCD, fold_cdc

# (kernel_size, stride, padding, dilation, groups, bias)
CONFIGS = [
    (3, 1, 1, 1, 1, False),
    (3, 2, 1, 1, 1, False),
    (3, 1, 0, 1, 1, True),
    (3, 1, 2, 2, 1, False),
    (3, 2, 1, 1, 2, True),
    (5, 2, 2, 1, 1, False),
    ((3, 5), 1, (1, 2), 1, 4, False),
]


def explicit_cdc(x, weight, bias, theta, stride, padding, dilation, groups):
    """y(p0) = Σ_n w(p_n)·(x(p0 + p_n) − θ·x(p0)) + b, window by window with unfold."""
    batch, channels = x.shape[:2]
    out_channels, group_channels, kh, kw = weight.shape
    windows = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    windows = windows.view(batch, channels, kh * kw, -1)  # (B, C, taps, positions)
    centre = windows[:, :, (kh // 2) * kw + kw // 2]  # x(p0) of every window
    differences = windows - theta * centre.unsqueeze(2)
    differences = differences.reshape(batch, groups, group_channels * kh * kw, -1)
    w = weight.reshape(groups, out_channels // groups, group_channels * kh * kw)
    y = torch.einsum("bgkl,gok->bgol", differences, w).reshape(batch, out_channels, -1)
    if bias is not None:
        y = y + bias[:, None]
    h_out = (x.shape[2] + 2 * padding[0] - dilation * (kh - 1) - 1) // stride + 1
    return y.view(batch, out_channels, h_out, -1)


def make_conv(config, theta, dtype=torch.float64):
    kernel_size, stride, padding, dilation, groups, bias = config
    torch.manual_seed(0)
    return Conv2dCD(4, 8, kernel_size, stride, padding, dilation, groups, bias, theta=theta).to(dtype)


@pytest.mark.parametrize("config", CONFIGS)
def test_theta_zero_is_exactly_conv2d(config):
    cdc = make_conv(config, theta=0.0, dtype=torch.float32)
    conv = nn.Conv2d(4, 8, *config[:5], bias=config[5])
    conv.load_state_dict(cdc.state_dict())  # a Conv2dCD has exactly nn.Conv2d's state dict
    x = torch.randn(2, 4, 11, 13)
    assert torch.equal(cdc(x), conv(x))


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("theta", [0.7, 1.0])
def test_matches_explicit_central_differences(config, theta):
    cdc = make_conv(config, theta)
    x = torch.randn(2, 4, 11, 13, dtype=torch.float64)
    expected = explicit_cdc(x, cdc.weight, cdc.bias, theta,
                            cdc.stride[0], cdc.padding, cdc.dilation[0], cdc.groups)
    torch.testing.assert_close(cdc(x), expected)


def test_matches_reference_two_convolution_form():
    # the reference code: conv(x, w) − θ·conv1x1(x, Σ_n w), same stride, no padding on the 1×1 term
    for stride in (1, 2):
        cdc = make_conv((3, stride, 1, 1, 1, False), theta=0.7)
        x = torch.randn(2, 4, 12, 12, dtype=torch.float64)
        kernel_sum = cdc.weight.sum(dim=(2, 3), keepdim=True)
        expected = (F.conv2d(x, cdc.weight, stride=stride, padding=1)
                    - 0.7 * F.conv2d(x, kernel_sum, stride=stride))
        torch.testing.assert_close(cdc(x), expected)


def test_gradient_flows_through_the_fold():
    cdc = make_conv((3, 2, 1, 1, 2, True), theta=0.7)
    x = torch.randn(2, 4, 9, 9, dtype=torch.float64, requires_grad=True)
    grad_out = torch.randn_like(cdc(x))
    grads = torch.autograd.grad((cdc(x) * grad_out).sum(), [x, cdc.weight, cdc.bias])
    expected_out = explicit_cdc(x, cdc.weight, cdc.bias, 0.7, 2, (1, 1), 1, 2)
    expected = torch.autograd.grad((expected_out * grad_out).sum(), [x, cdc.weight, cdc.bias])
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("config", CONFIGS)
def test_fold_gives_an_equivalent_plain_conv(config):
    cdc = make_conv(config, theta=0.7, dtype=torch.float32)
    folded = cdc.fold()
    assert type(folded) is nn.Conv2d
    x = torch.randn(2, 4, 11, 13)
    torch.testing.assert_close(folded(x), cdc(x), rtol=1e-5, atol=1e-5)
    # the folded centre tap is w_c − θ·Σ_n w, every other tap is unchanged
    kh, kw = cdc.kernel_size
    centre_sum = cdc.weight.sum(dim=(2, 3))
    torch.testing.assert_close(folded.weight[:, :, kh // 2, kw // 2],
                               cdc.weight[:, :, kh // 2, kw // 2] - 0.7 * centre_sum)


def test_even_kernel_is_rejected():
    with pytest.raises(ValueError, match="odd kernel"):
        Conv2dCD(3, 8, kernel_size=2)


def test_fold_cdc_replaces_every_cdc_and_keeps_the_output():
    torch.manual_seed(0)
    model = CDCNpp()
    for module in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    model.eval()
    folded = fold_cdc(model)
    assert not any(isinstance(m, Conv2dCD) for m in folded.modules())
    assert sum(isinstance(m, Conv2dCD) for m in model.modules()) == 13  # the original is untouched
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-5)
    assert type(fold_cdc(Conv2dCD(3, 4))) is nn.Conv2d


@pytest.mark.parametrize("cls", [CDCN, CDCNpp])
def test_map_is_an_eighth_of_the_input(cls):
    model = cls()
    out = model(torch.randn(2, 3, 64, 96))
    assert out.shape == (2, 8, 12) and (out >= 0).all()
    out.mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert cls(map_size=16)(torch.randn(1, 3, 64, 64)).shape == (1, 16, 16)


@pytest.mark.parametrize("cls", [CDCN, CDCNpp])
def test_full_scale_256_gives_32x32(cls):
    with torch.no_grad():
        assert cls().eval()(torch.randn(1, 3, 256, 256)).shape == (1, 32, 32)


@pytest.mark.parametrize("cls, documented", [(CDCN, 2_245_016), (CDCNpp, 2_257_352)])
def test_parameter_count(cls, documented):
    count = sum(p.numel() for p in cls().parameters())
    assert count == documented  # the table in CDCN's docstring
    assert abs(count - 2.25e6) / 2.25e6 < 0.10


def test_wrong_input_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        CDCN()(torch.randn(1, 1, 64, 64))


def test_width_scales_every_hidden_layer_and_keeps_input_and_output():
    # CDCN's docstring table at half width: stem 3→32; blocks 32→64→98→64, 64→64→98→64 (×2);
    # head 192→64→32→1 (192 = three fused 64-channel blocks)
    expected = ([(3, 32), (32, 64), (64, 98), (98, 64)] + [(64, 64), (64, 98), (98, 64)] * 2
                + [(192, 64), (64, 32), (32, 1)])
    model = CDCN(width=0.5)
    convs = [(m.in_channels, m.out_channels) for m in model.modules() if isinstance(m, Conv2dCD)]
    assert convs == expected
    # each 3×3 conv has 9·c_in·c_out weights, each BatchNorm (all but the last conv) 2·c_out
    assert sum(p.numel() for p in model.parameters()) == sum(9 * i * o + 2 * o for i, o in expected) - 2
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 8, 8)
    assert CDCNpp(width=0.25)(torch.randn(1, 3, 32, 32)).shape == (1, 4, 4)
    with pytest.raises(ValueError, match="width"):
        CDCN(width=0)


def test_multitask_width_scales_its_cdcn_backbone_only():
    assert MultiTaskNet("cdcn", width=0.5).backbone.out_channels == 3 * 64
    with pytest.raises(ValueError, match="width"):
        MultiTaskNet("resnet18", width=0.5)


@pytest.mark.parametrize("theta", [1.5, -0.1, float("nan"), "0.7", None, True])
def test_theta_outside_zero_one_or_not_a_number_is_refused(theta):
    with pytest.raises(ValueError, match=r"theta must be a number in \[0, 1\]"):
        Conv2dCD(3, 4, theta=theta)
    with pytest.raises(ValueError, match=r"theta must be a number in \[0, 1\]"):
        CDCN(theta=theta, width=0.25)


@pytest.mark.parametrize("x, expected", [
    (torch.zeros(1, 3, 2, 2), "at least 16x16 px, got 2x2"),
    (torch.zeros(1, 3, 64, 64, dtype=torch.uint8), "expected floating-point images in [-1, 1], got torch.uint8"),
    (torch.zeros(1, 3, 64, 64, dtype=torch.float64), "expected torch.float32 images (the model's dtype)"),
    (torch.zeros(1, 1, 64, 64), "expected images of shape (B, 3, H, W), got (1, 1, 64, 64)"),
])
def test_cdcn_refuses_inputs_it_cannot_score_in_one_line(x, expected):
    with pytest.raises(ValueError) as error:
        CDCN(width=0.25, map_size=16)(x)
    assert expected in str(error.value)
