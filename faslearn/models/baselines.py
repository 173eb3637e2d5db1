"""Baselines: a ResNet-18 binary classifier, a multi-task network with depth, reflection and
binary heads on one shared backbone (the "multi-task learning" diagram of the article "Liveness Model
Architectures"), and CDCNBinary, CDCN's backbone with the multi-task network's binary head alone.

CDCN, CDCNBinary and MultiTaskNet("cdcn") share one backbone, CDCN's ``features`` (built by
`cdcn_backbone`): at the same ``theta`` and ``width`` their backbones have the same layers, the
same state-dict keys and shapes and, built after the same seed, the same initial weights. They
differ only in their heads and in what supervises them (depth map, live/attack logit, or both
plus a reflection map), which is the comparison notebook 02 makes.

Nothing here downloads weights: ResNet-18 starts from random weights unless a local safetensors
file is given.
"""
from pathlib import Path

import torch
import torch.nn as nn
from torchvision.models import resnet18

from faslearn.checkpoints import read_safetensors
from faslearn.losses import BINARY, MULTITASK
from faslearn.models.cdc import CDCN
from faslearn.models.registry import register_model


@register_model("resnet18", BINARY)
def resnet18_binary(weights_path: str | Path | None = None, num_classes: int = 1) -> nn.Module:
    """torchvision ResNet-18 whose last layer gives ``num_classes`` logits: (B, 3, H, W) → (B, num_classes).

    With one logit, sigmoid(logit) is the probability of bona fide (label 1). ``weights_path`` is a
    local .safetensors ResNet-18 state dict (e.g. ImageNet weights converted once, or a faslearn
    checkpoint); a final layer of another shape there (ImageNet's 1000 classes) is skipped, so the
    new head keeps its fresh initialisation.
    """
    model = resnet18(weights=None, num_classes=num_classes)
    if weights_path is not None:
        _load_resnet_weights(model, weights_path)
    return model


def _load_resnet_weights(model: nn.Module, weights_path) -> None:
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors weights file at {path}")
    state, _ = read_safetensors(path, "ResNet-18 weights file", "a safetensors ResNet-18 state dict")
    own = model.state_dict()
    state = {k: v for k, v in state.items()
             if not (k.startswith("fc.") and k in own and v.shape != own[k].shape)}
    mismatched = [k for k, v in state.items() if k in own and v.shape != own[k].shape]
    if mismatched:
        raise ValueError(f"{path} does not hold ResNet-18 weights: wrong shapes for {mismatched[:3]}")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise ValueError(f"{path} does not hold ResNet-18 weights: "
                         f"missing {missing[:3]}, unexpected {unexpected[:3]}")


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def cdcn_backbone(theta: float = 0.7, width: float = 1.0, map_size: int | tuple[int, int] | None = None) -> nn.Module:
    """CDCN's backbone: the stem, the three CDC blocks and their multi-scale fusion, exactly as in
    ``CDCN(theta, map_size, width).features`` (a MultiScaleCDCFeatures; ``out_channels`` = 384·width,
    fused at ``map_size``, by default 1/8 of the input). CDCN builds its features before its head, so
    after the same seed the weights here are CDCN's initial backbone weights."""
    return CDCN(theta=theta, map_size=map_size, width=width).features


def _binary_head(channels: int) -> nn.Sequential:
    """Features (B, channels, h, w) → one logit per image (B, 1): 3×3 conv-BN-ReLU to 64 channels,
    global average pooling, a linear layer."""
    return nn.Sequential(_conv_bn_relu(channels, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1))


@register_model("cdcn_binary", BINARY, settings=("theta", "width", "map_size"))
class CDCNBinary(nn.Module):
    """CDCN's backbone (`cdcn_backbone`, CDC strength ``theta``, channel multiplier ``width``) with
    a binary head (MultiTaskNet's): supervision by the live/attack label only, no depth map. Its
    ``map_size`` is the resolution the backbone fuses its scales at, as in CDCN (the same backbone).

    forward(x), x (B, 3, H, W) → logit (B,), sigmoid(logit) = probability of bona fide. Train and
    score it with faslearn.losses.BINARY (binary cross-entropy; the logit is the score), like
    ``resnet18_binary``.
    """

    def __init__(self, theta: float = 0.7, width: float = 1.0, map_size: int | tuple[int, int] | None = None):
        super().__init__()
        self.backbone = cdcn_backbone(theta=theta, width=width, map_size=map_size)
        self.theta, self.width, self.map_size = float(theta), float(width), map_size  # what it was built with
        self.binary_head = _binary_head(self.backbone.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.binary_head(self.backbone(x)).squeeze(1)


class MultiTaskNet(nn.Module):
    """One shared backbone, three heads, trained with faslearn.losses.multitask_loss:
    L = λ1·L_depth + λ2·L_cls + λ3·L_ref.

    backbone: "resnet18" (torchvision ResNet-18 up to layer2, random init: 128 channels at 1/8 of
    the input) or "cdcn" (`cdcn_backbone`: CDCN's stem, blocks and multi-scale fusion with CDC
    strength ``theta``: 384 channels at 1/8 of the input; ``width`` multiplies its channels as in
    CDCN). Maps come out at ``map_size`` (int or pair), by default 1/8 of the input like CDCN's; the
    ResNet-18 features are resized to it bilinearly. The binary head is CDCNBinary's.

    forward(x), x (B, 3, H, W) → {
        "depth":      (B, h, w), ≥ 0 (a face for bona fide, zeros for an attack),
        "reflection": (B, reflection_channels, h, w), in [0, 1]; 3 channels for an RGB
                      reflection map (the default) or 1 for a grayscale one,
        "logit":      (B,), sigmoid(logit) = probability of bona fide,
    }
    """

    def __init__(self, backbone: str = "resnet18", reflection_channels: int = 3, theta: float = 0.7,
                 width: float = 1.0, map_size: int | tuple[int, int] | None = None):
        super().__init__()
        if backbone != "cdcn" and width != 1.0:
            raise ValueError(f"width scales the 'cdcn' backbone only, got width={width} with {backbone!r}")
        if backbone == "resnet18":
            r = resnet18(weights=None)
            resize = [nn.Upsample(size=map_size, mode="bilinear", align_corners=False)] if map_size else []
            self.backbone = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, *resize)
            channels = 128
        elif backbone == "cdcn":
            self.backbone = cdcn_backbone(theta=theta, width=width, map_size=map_size)
            channels = self.backbone.out_channels
        else:
            raise ValueError(f"backbone must be 'resnet18' or 'cdcn', got {backbone!r}")
        if reflection_channels not in (1, 3):
            raise ValueError(f"reflection_channels must be 1 or 3, got {reflection_channels}")
        self.depth_head = nn.Sequential(_conv_bn_relu(channels, 64),
                                        nn.Conv2d(64, 1, 3, padding=1), nn.ReLU())
        self.reflection_head = nn.Sequential(_conv_bn_relu(channels, 64),
                                             nn.Conv2d(64, reflection_channels, 3, padding=1), nn.Sigmoid())
        self.binary_head = _binary_head(channels)
        # what it was built with (θ only means something for CDC layers)
        self.theta = float(theta) if backbone == "cdcn" else None
        self.width, self.map_size = float(width), map_size

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone(x)
        return {
            "depth": self.depth_head(features).squeeze(1),
            "reflection": self.reflection_head(features),
            "logit": self.binary_head(features).squeeze(1),
        }


@register_model("multitask", MULTITASK, settings=("theta", "width", "map_size"))
def cdcn_multitask(theta: float = 0.7, width: float = 1.0,
                   map_size: int | tuple[int, int] | None = None) -> MultiTaskNet:
    """MultiTaskNet on CDCN's backbone with a grayscale reflection map: the course's "multitask" detector."""
    return MultiTaskNet("cdcn", reflection_channels=1, theta=theta, width=width, map_size=map_size)
