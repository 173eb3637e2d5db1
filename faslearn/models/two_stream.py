"""Two-stream multi-frame face anti-spoofing: a CNN-LSTM on the frames, a CNN on their differences.

"Two-stream Convolutional Networks for Multi-frame Face Anti-spoofing" (arXiv 2108.04032), §3.2–3.4.

Both branches extract features with MobileNetV3-Small at its five down-sampling stages
(strides 2, 4, 8, 16, 32: 32, 16, 8, 4, 2 px for a 64 px face) and enhance them twice:

    feature pyramid module (FPM), 1×1 lateral convs to a common width, then across levels
        top-down:  P5 = L5,  P_i = L_i + upsample×2(P_{i+1})    deep semantics reach the fine maps
        bottom-up: P1 = L1,  P_i = L_i + maxpool÷2(P_{i-1})     fine detail reaches the deep maps
    pyramid pooling module (PPM, as PSPNet): average-pool every P_i to 1×1, 2×2, 3×3 and 6×6 bins,
        so each level gives one vector that keeps a coarse spatial layout (multi-granularity)

    MultiFrameBranch (§3.2): clip (B, T, 3, H, W) → per level a Bi-LSTM over the T frame vectors
        → the five final states concatenated → a linear layer → logit (B,)
    DifferenceBranch (§3.3): x_{t+1} − x_t stacked, (B, 3(T−1), H, W) → one MobileNet whose first
        conv is inflated to 3(T−1) channels (§3.4) → the five level vectors → linear → logit (B,)
    TwoStream (§3.4): the branches are trained independently; the prediction is the sum of their
        scores, σ(multi) + σ(difference) ∈ [0, 2], higher = bona fide.

FPM directions: the prose of §3.2, §3.3 and §4.5 fuses top-down in the multi-frame branch and
bottom-up in the difference branch, while Table 4's labels put the opposite directions best. The
defaults follow the prose; ``fpm`` switches.

Inputs are in [-1, 1] like every faslearn model (the paper standardises the frames for its
ImageNet initialisation; nothing here re-standardises them). Weights are random unless a LOCAL
.safetensors file of torchvision's mobilenet_v3_small state dict is given; nothing is downloaded.

Parameters (parameter_count; pyramid_channels 48, hidden 32, DifferenceBranch for T = 10):

                                           width 1.0     width 0.5
    MobileNetV3-Small features alone         927,008       256,296
    MultiFrameBranch()                     1,783,489     1,096,649   (its 5 Bi-LSTMs: 811,520)
    MultiFrameBranch(ppm=False)            1,065,169       378,329
    MultiFrameBranch(temporal=False)         974,649       287,809
    DifferenceBranch(in_channels=27)         978,105       289,537
    TwoStream (both branches)              2,761,594     1,386,186

The paper reports 1.73M for the whole two-stream model. Two full MobileNetV3-Small feature
extractors alone hold 1.86M here (927,008 + 930,464 with the 27-channel first conv), so the paper's
count cannot include both complete backbones; it does not say what it leaves out. Most of the
multi-frame branch's extra weight is its Bi-LSTMs over 600-dim PPM vectors (4·32·(600 + 32 + 2)
per direction and level).
"""
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from torchvision.models import mobilenet_v3_small

PAPER_PARAMETERS = 1.73e6  # "The parameter size of the whole two-stream model is only 1.73 M" (§4.2)
FPM_DIRECTIONS = (None, "top_down", "bottom_up")
# each branch's feature pyramid as the paper's prose builds it (§3.2-3.3; the single-frame and optical-flow branches
# take their branch's structure, §4.5; Table 4's labels say the opposite, see above): top-down for the frame branches,
# bottom-up for the motion branches, all with pyramid pooling; the two-stream model is the multi-frame and
# RGB-difference branches (§3.4)
PAPER_FPM = {"single_frame": "top_down", "multi_frame": "top_down", "rgb_difference": "bottom_up",
             "optical_flow": "bottom_up"}
TWO_STREAM_BRANCHES = ("multi_frame", "rgb_difference")
PPM_BINS = (1, 2, 3, 6)
# torchvision's mobilenet_v3_small().features[a:b] for the five stages, each starting with a stride-2
# layer; out channels at width 1.0: 16, 16, 24, 48, 576 (the last stage ends in the 1×1 conv 96 → 576)
STAGE_ENDS = (1, 2, 4, 9, 13)


def parameter_count(module: nn.Module) -> int:
    """Number of parameters (weights and biases; BatchNorm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in module.parameters())


def inflate_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of ``conv`` taking ``in_channels`` inputs, its kernel the mean over the input channels
    replicated to each (§3.4, TSN's cross-modality initialisation): w'[:, j] = mean_c w[:, c] for every j.

    On an input whose channels all equal one image g it computes in_channels/3 × conv applied to
    (g, g, g); the BatchNorm that follows absorbs that scale.
    """
    inflated = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode,
                         conv.weight.device, conv.weight.dtype)
    with torch.no_grad():
        inflated.weight.copy_(conv.weight.mean(dim=1, keepdim=True).expand_as(inflated.weight))
        if conv.bias is not None:
            inflated.bias.copy_(conv.bias)
    return inflated


class PyramidBackbone(nn.Module):
    """MobileNetV3-Small's features cut after each down-sampling stage: (N, in_channels, H, W) →
    five maps at 1/2, 1/4, 1/8, 1/16, 1/32 of H, W with ``out_channels`` channels.

    ``weights_path``: a local .safetensors file of torchvision's mobilenet_v3_small state dict at this
    ``width`` (ImageNet weights converted once, for instance; its classifier is ignored). With
    ``in_channels`` other than 3 the first conv is inflated after loading, so pretrained weights are.
    """

    def __init__(self, in_channels: int = 3, width: float = 1.0, weights_path: str | Path | None = None):
        super().__init__()
        net = mobilenet_v3_small(weights=None, width_mult=width)
        if weights_path is not None:
            _load_mobilenet_weights(net, weights_path)
        features = net.features
        if in_channels != 3:
            features[0][0] = inflate_first_conv(features[0][0], in_channels)
        self.stages = nn.ModuleList(features[start:end] for start, end in zip((0, *STAGE_ENDS), STAGE_ENDS))
        self.out_channels = tuple(stage[-1].out_channels for stage in self.stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels = []
        for stage in self.stages:
            x = stage(x)
            levels.append(x)
        return levels


def _load_mobilenet_weights(net: nn.Module, weights_path) -> None:
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors weights file at {path}")
    own = net.state_dict()
    state = {k: v for k, v in load_file(path).items() if not k.startswith("classifier.")}  # head unused
    mismatched = [k for k, v in state.items() if k in own and v.shape != own[k].shape]
    if mismatched:
        raise ValueError(f"{path} does not hold mobilenet_v3_small weights of this width: "
                         f"wrong shapes for {mismatched[:3]}")
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("classifier.")]
    if missing or unexpected:
        raise ValueError(f"{path} does not hold mobilenet_v3_small weights: "
                         f"missing {missing[:3]}, unexpected {unexpected[:3]}")


class FeaturePyramid(nn.Module):
    """1×1 lateral convs L_i = conv(C_i) to ``channels``, then fused across levels in direction ``fpm``
    (see the module docstring); ``fpm=None`` keeps P_i = L_i, so an ablation isolates the addition."""

    def __init__(self, in_channels: tuple[int, ...], channels: int, fpm: str | None):
        super().__init__()
        if fpm not in FPM_DIRECTIONS:
            raise ValueError(f"fpm must be one of {FPM_DIRECTIONS}, got {fpm!r}")
        self.laterals = nn.ModuleList(nn.Conv2d(c, channels, kernel_size=1) for c in in_channels)
        self.fpm = fpm

    def forward(self, levels: list[torch.Tensor]) -> list[torch.Tensor]:
        p = [lateral(c) for lateral, c in zip(self.laterals, levels)]
        if self.fpm == "top_down":  # coarse to fine; nearest ×2 when sizes halve exactly
            for i in reversed(range(len(p) - 1)):
                p[i] = p[i] + F.interpolate(p[i + 1], size=p[i].shape[-2:], mode="nearest")
        elif self.fpm == "bottom_up":  # fine to coarse; a 2×2 stride-2 max pool when sizes halve exactly
            for i in range(1, len(p)):
                p[i] = p[i] + F.adaptive_max_pool2d(p[i - 1], p[i].shape[-2:])
        return p


class PyramidPooling(nn.Module):
    """PSPNet's pyramid pooling, flattened: (N, C, h, w) → (N, (1 + 4 + 9 + 36) · C/4).

    Each bin b: adaptive average pool to b×b → 1×1 conv to C/4 → ReLU → flatten (PSPNet upsamples
    the bins back to h×w instead; a vector is what the LSTM and the linear layer take). At 64 px the
    deepest map is 2×2, so the 3×3 and 6×6 bins only repeat or average its cells. ``ppm=False`` in
    the branches replaces this by global average pooling, (N, C).
    """

    def __init__(self, channels: int, bins: tuple[int, ...] = PPM_BINS):
        super().__init__()
        self.bins = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(channels, channels // 4, kernel_size=1),
                          nn.ReLU(inplace=True), nn.Flatten())
            for b in bins
        )
        self.out_features = sum(b * b for b in bins) * (channels // 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([pool(x) for pool in self.bins], dim=1)


class PyramidFeatures(nn.Module):
    """Backbone → FPM → PPM (or global pooling): (N, in_channels, H, W) → five vectors, level i of
    shape (N, level_features[i])."""

    def __init__(self, in_channels: int = 3, fpm: str | None = "top_down", ppm: bool = True, width: float = 1.0,
                 pyramid_channels: int = 48, weights_path: str | Path | None = None):
        super().__init__()
        self.backbone = PyramidBackbone(in_channels, width, weights_path)
        self.pyramid = FeaturePyramid(self.backbone.out_channels, pyramid_channels, fpm)
        levels = len(self.backbone.out_channels)
        if ppm:
            self.pools = nn.ModuleList(PyramidPooling(pyramid_channels) for _ in range(levels))
            self.level_features = tuple(pool.out_features for pool in self.pools)
        else:
            self.pools = nn.ModuleList(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
                                       for _ in range(levels))
            self.level_features = (pyramid_channels,) * levels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [pool(p) for pool, p in zip(self.pools, self.pyramid(self.backbone(x)))]


class MultiFrameBranch(nn.Module):
    """§3.2: every frame through PyramidFeatures (top-down FPM by default), then per level a Bi-LSTM
    over time; the final hidden state of each direction (2·hidden per level, 5 levels) → linear → logit.

    forward(clip): clip (B, T, 3, H, W) in [-1, 1] → logit (B,), σ(logit) = probability of bona fide.
    ``temporal=False`` is Table 5's single-frame branch: no LSTMs, the five level vectors of one frame
    go straight into the linear layer; it takes (B, 3, H, W), or a clip of which it uses frame 0 only.
    """

    def __init__(self, fpm: str | None = "top_down", ppm: bool = True, temporal: bool = True, width: float = 1.0,
                 hidden: int = 32, pyramid_channels: int = 48, weights_path: str | Path | None = None):
        super().__init__()
        self.features = PyramidFeatures(3, fpm, ppm, width, pyramid_channels, weights_path)
        self.temporal = temporal
        if temporal:
            self.lstms = nn.ModuleList(nn.LSTM(f, hidden, batch_first=True, bidirectional=True)
                                       for f in self.features.level_features)
            self.classifier = nn.Linear(2 * hidden * len(self.lstms), 1)
        else:
            self.classifier = nn.Linear(sum(self.features.level_features), 1)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        if not self.temporal:
            frames = clip[:, 0] if clip.ndim == 5 else clip
            return self.classifier(torch.cat(self.features(frames), dim=1)).squeeze(1)
        if clip.ndim != 5:
            raise ValueError(f"expected a clip of shape (B, T, 3, H, W), got {tuple(clip.shape)}")
        batch, frames = clip.shape[:2]
        summaries = []
        for lstm, level in zip(self.lstms, self.features(clip.flatten(0, 1))):  # B·T frames at once
            # h_n (2, B, hidden): the forward LSTM's state after x_T, the backward one's after x_1
            _, (h_n, _) = lstm(level.view(batch, frames, -1))
            summaries.append(torch.cat([h_n[0], h_n[1]], dim=1))
        return self.classifier(torch.cat(summaries, dim=1)).squeeze(1)


class DifferenceBranch(nn.Module):
    """§3.3: a motion stack through PyramidFeatures with an inflated first conv (bottom-up FPM by
    default), the five level vectors concatenated → linear → logit; no LSTM (the input already holds
    the motion).

    forward(x): x (B, in_channels, H, W) → logit (B,). The input is ``rgb_differences(clip)``,
    in_channels = 3(T−1), or stacked optical flow, in_channels = 2(T−1): Table 5's flow branch has
    the same structure. A clip (B, T, 3, H, W) is turned into its RGB differences first.
    """

    def __init__(self, in_channels: int, fpm: str | None = "bottom_up", ppm: bool = True, width: float = 1.0,
                 pyramid_channels: int = 48, weights_path: str | Path | None = None):
        super().__init__()
        self.features = PyramidFeatures(in_channels, fpm, ppm, width, pyramid_channels, weights_path)
        self.classifier = nn.Linear(sum(self.features.level_features), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5:
            x = rgb_differences(x)
        return self.classifier(torch.cat(self.features(x), dim=1)).squeeze(1)


def rgb_differences(clip: torch.Tensor) -> torch.Tensor:
    """Consecutive frame differences x_{t+1} − x_t stacked along channels, frame by frame:
    (B, T, 3, H, W) → (B, 3(T−1), H, W), or (T, 3, H, W) → (3(T−1), H, W). Values in [-2, 2]."""
    if clip.ndim not in (4, 5) or clip.shape[-4] < 2:
        raise ValueError(f"expected a clip (B, T, 3, H, W) or (T, 3, H, W), T ≥ 2, got {tuple(clip.shape)}")
    return (clip[..., 1:, :, :, :] - clip[..., :-1, :, :, :]).flatten(-4, -3)


def fuse_scores(*logits: torch.Tensor) -> torch.Tensor:
    """§3.4's late fusion: the sum of the branches' scores, Σ_k σ(logit_k) ∈ [0, number of branches]."""
    return torch.stack(logits).sigmoid().sum(dim=0)


class TwoStream(nn.Module):
    """The two independently trained branches together: forward(clip), clip (B, T, 3, H, W) →
    σ(multi_frame(clip)) + σ(difference(rgb_differences(clip))) ∈ [0, 2], higher = bona fide.
    The difference branch must take 3(T−1) channels."""

    def __init__(self, multi_frame: MultiFrameBranch, difference: DifferenceBranch):
        super().__init__()
        self.multi_frame, self.difference = multi_frame, difference

    @classmethod
    def from_parameters(cls, multi_frame: dict, rgb_difference: dict) -> "TwoStream":
        """The (untrained) model that two train_two_stream.ipynb runs with these ``parameters`` train: each branch's
        ``fpm`` ("paper" is `PAPER_FPM`'s direction, "none" no pyramid), ``ppm`` and ``width``, and the
        RGB-difference branch's ``key_frame_k`` differences (3k input channels)."""
        def direction(branch, fpm):
            return PAPER_FPM[branch] if fpm == "paper" else None if fpm == "none" else fpm

        frame = MultiFrameBranch(fpm=direction("multi_frame", multi_frame["fpm"]), ppm=multi_frame["ppm"],
                                 width=multi_frame["width"])
        motion = DifferenceBranch(3 * rgb_difference["key_frame_k"], fpm=direction("rgb_difference",
                                  rgb_difference["fpm"]), ppm=rgb_difference["ppm"], width=rgb_difference["width"])
        return cls(frame, motion)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return fuse_scores(self.multi_frame(clip), self.difference(clip))
