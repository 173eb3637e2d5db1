"""Losses for pixel-wise (depth map) and multi-task face anti-spoofing supervision.

Maps may be given as (B, H, W) or (B, 1, H, W); prediction and target must have the same shape.
Convention: label 1 = bona fide, whose depth map is a face; an attack's depth map is all zeros.
"""
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F


def _as_map(maps: torch.Tensor) -> torch.Tensor:
    """(B, H, W) or (B, 1, H, W) → (B, H, W)."""
    if maps.ndim == 4 and maps.shape[1] == 1:
        maps = maps.squeeze(1)
    if maps.ndim != 3:
        raise ValueError(f"expected maps of shape (B, H, W) or (B, 1, H, W), got {tuple(maps.shape)}")
    return maps


def _as_maps(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if pred.shape != target.shape:
        raise ValueError(f"prediction and target maps must have the same shape, "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")
    return _as_map(pred), _as_map(target)


def neighbour_difference_kernels() -> torch.Tensor:
    """The 8 fixed 3×3 kernels K_i with +1 at neighbour i and −1 at the centre: (8, 1, 3, 3)."""
    kernels = torch.zeros(8, 1, 3, 3)
    neighbours = [(r, c) for r in range(3) for c in range(3) if (r, c) != (1, 1)]
    for i, (r, c) in enumerate(neighbours):
        kernels[i, 0, r, c] = 1.0
        kernels[i, 0, 1, 1] = -1.0
    return kernels


def contrastive_depth_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CDCN's contrastive depth loss, L_CDL = mean over i = 1..8 and pixels of (K_i ⊛ D_pred − K_i ⊛ D_gt)².

    Each K_i gives the difference between one neighbour and the centre pixel, so the loss compares
    the local depth *contrast* (the shape of the face) rather than the depth values themselves.
    """
    pred, target = _as_maps(pred, target)
    kernels = neighbour_difference_kernels().to(device=pred.device, dtype=pred.dtype)
    pred_contrast = F.conv2d(pred.unsqueeze(1), kernels, padding=1)  # (B, 8, H, W)
    target_contrast = F.conv2d(target.unsqueeze(1), kernels, padding=1)
    return F.mse_loss(pred_contrast, target_contrast)


def depth_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CDCN's depth loss: L = MSE(D_pred, D_gt) + L_CDL(D_pred, D_gt)."""
    return F.mse_loss(*_as_maps(pred, target)) + contrastive_depth_loss(pred, target)


def depth_score(pred_map: torch.Tensor) -> torch.Tensor:
    """Bona fide score of each sample: the mean of its predicted depth map, shape (B,).

    This is CDCN's scoring rule (the reference code divides the map's sum by the area of the face
    mask, which is the mean when the mask covers the whole map). A face with a depth map scores
    high, a flat attack scores near 0; accept as bona fide when ``score >= threshold``.
    """
    return _as_map(pred_map).mean(dim=(1, 2))


def multitask_loss(outputs: dict, targets: dict,
                   lambdas: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> torch.Tensor:
    """L = λ1 · L_depth + λ2 · L_cls + λ3 · L_ref
    (the multi-task diagram of the article "Liveness Model Architectures").

    outputs: {"depth": (B, h, w), "logit": (B,) or (B, 1), "reflection": (B, C, h, w)}, as returned
    by faslearn.models.baselines.MultiTaskNet. targets: {"depth": like outputs["depth"],
    "label": (B,) with 1 = bona fide, "reflection": like outputs["reflection"]}.
    L_depth = depth_loss (MSE + contrastive), L_cls = binary cross-entropy on the logit,
    L_ref = MSE. A term whose λ is 0 is skipped, and its entries may then be missing.
    """
    lambda_depth, lambda_cls, lambda_ref = lambdas
    if not any(lambdas):
        raise ValueError("multitask_loss needs at least one non-zero λ")
    total = 0.0
    if lambda_depth:
        total = total + lambda_depth * depth_loss(_entry(outputs, "depth"), _entry(targets, "depth"))
    if lambda_cls:
        logit, label = _entry(outputs, "logit").reshape(-1), _entry(targets, "label").reshape(-1)
        total = total + lambda_cls * F.binary_cross_entropy_with_logits(logit, label.to(logit.dtype))
    if lambda_ref:
        pred, target = _entry(outputs, "reflection"), _entry(targets, "reflection")
        if pred.shape != target.shape:
            raise ValueError(f"prediction and target reflection maps must have the same shape, "
                             f"got {tuple(pred.shape)} and {tuple(target.shape)}")
        total = total + lambda_ref * F.mse_loss(pred, target)
    return total


def _entry(tensors: dict, key: str) -> torch.Tensor:
    if key not in tensors:
        raise ValueError(f"multitask_loss: missing entry '{key}' (needed because its λ is non-zero)")
    return tensors[key]


# Objectives: what a model is trained to do, as the (loss, score) pair that fl.train.fit takes.
# Both are called as f(model outputs, batch); scores are (B,), higher = more likely bona fide.


class Objective(NamedTuple):
    loss: Callable
    score: Callable


def _one_per_sample(logit: torch.Tensor) -> torch.Tensor:
    return logit.reshape(logit.shape[0])  # (B,) or (B, 1) -> (B,)


def _binary_loss(logit, batch):
    return F.binary_cross_entropy_with_logits(_one_per_sample(logit), batch["label"].float())


def _binary_score(logit, batch):
    return _one_per_sample(logit)


def _depth_loss(depth_map, batch):
    return depth_loss(depth_map, batch["depth"][:, 0])  # labels carry a channel axis, CDCN maps do not


def _depth_score(depth_map, batch):
    return depth_score(depth_map)


def _multitask_loss(outputs, batch):
    targets = {"depth": batch["depth"][:, 0], "label": batch["label"], "reflection": batch["reflection"]}
    return multitask_loss(outputs, targets)


def _multitask_score(outputs, batch):
    return outputs["logit"]


BINARY = Objective(_binary_loss, _binary_score)  # one logit per image: BCE, the logit is the score
DEPTH = Objective(_depth_loss, _depth_score)  # a depth map per image: depth_loss, its mean is the score
MULTITASK = Objective(_multitask_loss, _multitask_score)  # MultiTaskNet: multitask_loss, scored by its logit


# Domain generalisation (faslearn.models.dg): SSDG and domain-adversarial training. In training mode a
# `DomainGeneralised` model returns {"logit", "feature", "domain_logit"}; in evaluation mode the logit alone,
# which is then scored and (on dev) charged the classification loss only.


def asymmetric_triplet_loss(features: torch.Tensor, label: torch.Tensor, domain: torch.Tensor,
                            margin: float = 0.1) -> torch.Tensor:
    """SSDG's asymmetric triplet loss: batch-all triplets over labels in which every bona fide face shares
    one label and each source domain's attacks get a label of their own.

    For every anchor a, positive p (same label, p ≠ a) and negative n (another label), the term is
    max(0, ‖f_a − f_p‖ − ‖f_a − f_n‖ + margin); the loss is the mean over the terms that are positive
    (0 when none is). Bona fide faces of all sources are pulled together; attacks are pushed away from
    them and from the other sources' attacks, so the attack side is left free to spread.

    Args:
        features: (B, D), normalised (`faslearn.models.dg.normalise_features`).
        label: (B,), 1 = bona fide.
        domain: (B,), each sample's source domain index.
        margin: the triplet margin (SSDG: 0.1).
    """
    classes = torch.where(label.bool(), torch.zeros_like(domain), 1 + domain)
    distance = torch.cdist(features, features)  # (B, B) Euclidean
    same = classes[:, None] == classes[None, :]
    positive = same & ~torch.eye(len(classes), dtype=torch.bool, device=features.device)
    negative = ~same
    terms = distance[:, :, None] - distance[:, None, :] + margin  # [a, p, n]
    valid = positive[:, :, None] & negative[:, None, :]
    hard = terms[valid].clamp_min(0)
    hard = hard[hard > 1e-16]
    return hard.mean() if len(hard) else features.sum() * 0


def _logit(outputs):
    return outputs["logit"] if isinstance(outputs, dict) else _one_per_sample(outputs)


def _classification_loss(outputs, batch):
    return F.binary_cross_entropy_with_logits(_logit(outputs), batch["label"].float())


def _logit_score(outputs, batch):
    return _logit(outputs)


def ssdg_objective(lambda_triplet: float = 2.0, lambda_adversarial: float = 0.1, margin: float = 0.1) -> Objective:
    """SSDG: L = CE + λ_triplet · asymmetric triplet + λ_adversarial · CE(domain of the bona fide faces only).

    The defaults are the official SSDG config's (``lambda_triplet = 2``, ``lambda_adreal = 0.1``); AG-FAS trains
    OA-Net with 1 and 0.5. The domain discriminator sits behind the model's gradient reversal layer, so
    minimising its loss here trains the discriminator and, reversed, the features against it."""
    def loss(outputs, batch):
        if not isinstance(outputs, dict):  # evaluation mode: the classifier alone
            return _classification_loss(outputs, batch)
        label, domain = batch["label"], batch["domain_index"]
        total = _classification_loss(outputs, batch)
        if lambda_triplet:
            total = total + lambda_triplet * asymmetric_triplet_loss(outputs["feature"], label, domain, margin)
        bona_fide = label.bool()
        if lambda_adversarial and bona_fide.any():
            total = total + lambda_adversarial * F.cross_entropy(outputs["domain_logit"][bona_fide], domain[bona_fide])
        return total
    return Objective(loss, _logit_score)


def dann_objective(lambda_adversarial: float = 0.1) -> Objective:
    """Domain-adversarial training on every sample: L = CE + λ_adversarial · CE(domain of every face)."""
    def loss(outputs, batch):
        total = _classification_loss(outputs, batch)
        if isinstance(outputs, dict) and lambda_adversarial:
            total = total + lambda_adversarial * F.cross_entropy(outputs["domain_logit"], batch["domain_index"])
        return total
    return Objective(loss, _logit_score)


SSDG = ssdg_objective()  # the official SSDG weights
DANN = dann_objective()
