"""Central Difference Convolution (CDC) and the CDCN / CDCN++ depth-map networks.

Yu et al., "Searching Central Difference Convolutional Networks for Face Anti-Spoofing", CVPR 2020.

A vanilla convolution aggregates intensities around the centre pixel p0:

    y(p0) = Σ_n w(p_n) · x(p0 + p_n)

CDC mixes in *central differences*, which respond to fine texture and gradients (moiré, print
halftone, the missing 3D shading of a flat photo) rather than to raw intensity:

    y(p0) = θ · Σ_n w(p_n) · (x(p0 + p_n) − x(p0))  +  (1 − θ) · Σ_n w(p_n) · x(p0 + p_n)
          = Σ_n w(p_n) · x(p0 + p_n)  −  θ · x(p0) · Σ_n w(p_n)

θ = 0 is a plain convolution and θ = 1 uses differences only; the paper's default is θ = 0.7.
The second term is a 1×1 convolution with the summed kernel Σ_n w(p_n) (the reference code
computes it that way, as a second convolution). Convolution is linear in its kernel, so both terms
are one convolution with a folded kernel, the summed kernel subtracted at the centre tap:

    w' = w − θ · pad(Σ_n w(p_n))        (the 1×1 kernel zero-padded to k×k: nonzero at the centre)
    y  = conv(x, w')

The centre tap of every window reads that window's centre pixel x(p0), so the fold is right for
any stride, dilation and padding (the two-convolution form lines up only with "same" padding).

Speed (benchmarks/cdc_speed.py, 2 CPU cores; one 128→196 3×3 layer, batch 8, 16×16 and 64×64
maps; training step = forward + backward): the folded form costs 1.02–1.08× a plain nn.Conv2d,
the two-convolution form 1.26–1.38×. A whole CDCN training step at 64 px costs 1.02× (folded) and
1.21× (two convolutions) the same network with θ = 0. Conv2dCD therefore always computes the
folded form; gradients flow through the fold back to w. For inference, fold_cdc gives a network
of plain nn.Conv2d layers.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from faslearn.losses import DEPTH
from faslearn.models.registry import register_model
from faslearn.utils import check_number


def check_theta(theta: float) -> float:
    """θ as a float; ValueError unless it is a number in [0, 1] (0: plain convolution, 1: differences only)."""
    return check_number(theta, "theta", 0.0, 1.0)


def check_map_size(map_size: int | tuple[int, int] | None) -> int | tuple[int, int] | None:
    """A depth map's side (an int), its (height, width), or None (1/8 of the input); ValueError otherwise."""
    if map_size is None:
        return None
    if isinstance(map_size, (tuple, list)) and len(map_size) == 2:
        return tuple(check_number(side, "map_size", 1, integer=True) for side in map_size)
    if isinstance(map_size, (tuple, list)):
        raise ValueError(f"map_size must be a whole number >= 1, a (height, width) pair or None, got {map_size!r}")
    return check_number(map_size, "map_size", 1, integer=True)


def check_images(x: torch.Tensor, min_size: int = 1, dtype: torch.dtype | None = None) -> None:
    """ValueError, one line, unless ``x`` is a batch of images as every model takes them: a floating-point
    tensor (B, 3, H, W) in [-1, 1] with H and W at least ``min_size`` (fl.data.to_tensor makes one from
    uint8 frames)."""
    if not torch.is_tensor(x) or x.ndim != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"expected images of shape (B, 3, H, W), got {shape}")
    if not x.is_floating_point():
        raise ValueError(f"expected floating-point images in [-1, 1], got {x.dtype} "
                         "(fl.data.to_tensor turns uint8 frames into model input)")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"expected {dtype} images (the model's dtype), got {x.dtype}: convert with x.to({dtype})")
    if min(x.shape[-2:]) < min_size:
        raise ValueError(f"expected images of at least {min_size}x{min_size} px, got {x.shape[-2]}x{x.shape[-1]}")


class Conv2dCD(nn.Conv2d):
    """Central difference convolution, a drop-in for nn.Conv2d (same arguments, same ``.weight``).

    ``theta`` is a plain float (not saved in the state dict), so a Conv2dCD loads the state dict of
    an nn.Conv2d of the same shape and vice versa. Kernel sizes must be odd so that a centre tap
    exists. A bias, if any, is added once after the difference (the reference code also scales it
    by (1 − θ); its networks never use a bias).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int] = 3,
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 1,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = False, theta: float = 0.7,
                 padding_mode: str = "zeros", device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"Conv2dCD needs an odd kernel size (a centre tap), got {self.kernel_size}")
        self.theta = check_theta(theta)

    def folded_weight(self) -> torch.Tensor:
        """w' = w − θ · pad(Σ_n w): one kernel for conv(x, w) − θ · conv1x1(x, Σ_n w)."""
        kernel_sum = self.weight.sum(dim=(2, 3), keepdim=True)  # (out, in/groups, 1, 1)
        pad_h, pad_w = self.kernel_size[0] // 2, self.kernel_size[1] // 2
        return self.weight - self.theta * F.pad(kernel_sum, (pad_w, pad_w, pad_h, pad_h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.theta == 0:
            return super().forward(x)  # exactly nn.Conv2d
        return self._conv_forward(x, self.folded_weight(), self.bias)

    @torch.no_grad()
    def fold(self) -> nn.Conv2d:
        """A plain nn.Conv2d computing the same function (for inference and export)."""
        conv = nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size, self.stride,
                         self.padding, self.dilation, self.groups, self.bias is not None,
                         self.padding_mode, self.weight.device, self.weight.dtype)
        conv.weight.copy_(self.folded_weight())
        if self.bias is not None:
            conv.bias.copy_(self.bias)
        return conv

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, theta={self.theta}"


def fold_cdc(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every Conv2dCD replaced by its folded nn.Conv2d (``model`` is untouched)."""
    if isinstance(model, Conv2dCD):
        return model.fold()
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, Conv2dCD):
                setattr(parent, name, child.fold())
    return model


def conv_bn_relu(in_channels: int, out_channels: int, theta: float) -> nn.Sequential:
    """3×3 CDC (no bias: BatchNorm follows) → BatchNorm → ReLU, the unit every CDCN layer uses."""
    return nn.Sequential(
        Conv2dCD(in_channels, out_channels, kernel_size=3, padding=1, bias=False, theta=theta),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def scale_width(channels: int, width: float) -> int:
    """A hidden layer's channel count times the multiplier ``width``, rounded, at least 1."""
    return max(1, round(channels * width))


class SpatialAttention(nn.Module):
    """CDCN++'s spatial attention: x · σ(conv_k([mean_c(x), max_c(x)])), one weight per pixel."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class MultiScaleCDCFeatures(nn.Module):
    """Stem, three CDC blocks that halve the resolution, and their outputs fused at the map size.

    Each block is a chain of conv_bn_relu layers ending in MaxPool(3, stride 2), so block b's
    output is at 1/2^b of the input. Every block output passes through an attention module
    (identity for CDCN, SpatialAttention for CDCN++'s MAFM), is resized bilinearly to the map size
    and the three are concatenated: (B, 3·128, h, w). The next block takes the un-attended output.
    """

    min_size = 16  # three halvings leave 2×2 of a 16 px face; below that the depth map is made up

    def __init__(self, block_widths: tuple[tuple[int, ...], ...], attention_kernels: tuple[int | None, ...],
                 theta: float, map_size: int | tuple[int, int] | None = None):
        super().__init__()
        self.stem = conv_bn_relu(3, block_widths[0][0], theta)
        self.blocks = nn.ModuleList(
            nn.Sequential(*[conv_bn_relu(c_in, c_out, theta) for c_in, c_out in zip(widths, widths[1:])],
                          nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
            for widths in block_widths
        )
        self.attentions = nn.ModuleList(
            nn.Identity() if k is None else SpatialAttention(k) for k in attention_kernels
        )
        self.map_size = map_size
        self.out_channels = sum(widths[-1] for widths in block_widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.min_size, self.stem[0].weight.dtype)
        x = self.stem(x)
        block_outputs = []
        for block, attention in zip(self.blocks, self.attentions):
            x = block(x)
            block_outputs.append(attention(x))
        # map size: given, or the last block's resolution, ceil(H/8) × ceil(W/8) (256 → 32, 64 → 8)
        size = self.map_size or tuple(block_outputs[-1].shape[-2:])
        return torch.cat([F.interpolate(f, size=size, mode="bilinear", align_corners=False)
                          for f in block_outputs], dim=1)


@register_model("cdcn", DEPTH, settings=("theta", "width", "map_size"))
class CDCN(nn.Module):
    """CDCN: predicts a pseudo-depth map, high on a bona fide face and zero on an attack.

    forward(x): x (B, 3, H, W) → depth map (B, h, w) ≥ 0 with (h, w) = ``map_size`` (int or pair),
    by default (ceil(H/8), ceil(W/8)): 32×32 for the paper's 256×256 faces. The course's 64×64 faces
    have 16×16 depth labels (an 8×8 map has no nose), so it builds CDCN with ``map_size=16``.
    Score a face with faslearn.losses.depth_score (the map mean); fold_cdc(model) gives an
    equivalent network of plain convolutions for inference.

        layers (every conv a 3×3 CDC + BatchNorm + ReLU)    parameters
        CDCN:   stem 3→64; blocks 64→128→196→128,           2,245,016
                128→128→196→128 (×2); head 384→128→64→1
        CDCN++: stem 3→64; blocks 64→128→204→128,           2,257,352
                128→153→128→179→128, 128→128→153→128;
                SpatialAttention k=7/5/3; head 384→128→1
        (the article "Liveness Model Architectures" quotes "~2M" for CDCN)

    The last layer has no BatchNorm and ends in a ReLU (depth is non-negative). ``width`` multiplies
    every hidden channel count (rounded; input 3 and output 1 stay): width 0.25 makes a CDCN of
    about 1/16 of the parameters for quick CPU runs; the default 1.0 is the paper's network.
    """

    # input and output widths of each block's convolutions
    block_widths = ((64, 128, 196, 128), (128, 128, 196, 128), (128, 128, 196, 128))
    attention_kernels = (None, None, None)
    head_widths = (384, 128, 64, 1)

    def __init__(self, theta: float = 0.7, map_size: int | tuple[int, int] | None = None, width: float = 1.0):
        super().__init__()
        width = check_number(width, "width (a channel multiplier)", above=0, high=64)
        map_size = check_map_size(map_size)
        # what it was built with, so that loading weights can check they were trained with the same
        self.theta, self.width, self.map_size = check_theta(theta), width, map_size
        block_widths = tuple(tuple(scale_width(c, width) for c in widths) for widths in self.block_widths)
        self.features = MultiScaleCDCFeatures(block_widths, self.attention_kernels, theta, map_size)
        # the head takes the fused features and ends in one depth channel; only its hidden widths scale
        head_widths = (self.features.out_channels,
                       *(scale_width(c, width) for c in self.head_widths[1:-1]), self.head_widths[-1])
        *hidden, last = list(zip(head_widths, head_widths[1:]))
        self.head = nn.Sequential(
            *[conv_bn_relu(c_in, c_out, theta) for c_in, c_out in hidden],
            Conv2dCD(*last, kernel_size=3, padding=1, bias=False, theta=theta),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


@register_model("cdcn++", DEPTH, settings=("theta", "width", "map_size"))
class CDCNpp(CDCN):
    """CDCN++: CDCN with the NAS-searched block widths (×1.2/1.4/1.6 of 128), a spatial attention
    per block (kernel 7, 5, 3: the multiscale attention fusion module, MAFM) and a shorter head.
    Same interface as CDCN; see its docstring for shapes and parameter counts."""

    block_widths = ((64, 128, 204, 128), (128, 153, 128, 179, 128), (128, 128, 153, 128))
    attention_kernels = (7, 5, 3)
    head_widths = (384, 128, 1)
