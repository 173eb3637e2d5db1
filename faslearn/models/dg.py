"""Domain generalisation: one wrapper that trains any backbone of the course with SSDG's objective or with
domain-adversarial training on every sample (DANN), so that the unseen capture domain costs less.

Single-Side Domain Generalization (SSDG; Jia, Zhang, Shan, Chen, "Single-Side Domain Generalization for Face
Anti-Spoofing", CVPR 2020, arXiv 2004.14043) asks two things of the features f of the source domains:

* the **bona fide** faces of every source should look alike: a domain discriminator D tries to tell which source
  a bona fide face came from, and the feature extractor is trained to fool it, through a *gradient reversal
  layer* (GRL): identity on the way forward, the gradient times −λ on the way back (Ganin & Lempitsky,
  "Unsupervised Domain Adaptation by Backpropagation", arXiv 1409.7495). Attacks are left out of D: each
  source's attacks may keep their own look (a print in one domain, a screen's moiré in another);
* an **asymmetric triplet loss**: all bona fide faces share one label, every source's attacks get a label of
  their own, so bona fide faces gather into one compact cluster while attacks spread out, source by source.

Features are normalised, f ← f / (‖f‖^½ · √2), and so are the classifier's two weight rows, as the official
code does (``norm_flag``). The training loss (the official config: λ_triplet = 2, λ_adversarial = 0.1):

    L = CE(classifier(f), y) + λ_triplet · L_triplet(f, labels) + λ_adversarial · CE(D(GRL(f_bona fide)), domain)

Domain-adversarial training (DANN) is the same discriminator on *every* sample: it aligns the attacks of all
sources too, which pulls each source's own attack cue towards the others' (notebook 06 compares the two).

The GRL's weight ramps up as in DANN and SSDG: λ(p) = 2 / (1 + exp(−10 p)) − 1, p = step / total_steps, so the
discriminator's gradient is weak while the features are still random. The wrapper counts its own training
steps (a buffer saved with the weights), so a resumed run continues the ramp where it stopped.

The wrapper (`DomainGeneralised`) takes a registered backbone without its last linear layer: ResNet-18 (SSDG's
"SSDG-R"), the ViT, or OA-Net (OA-Net with SSDG is AG-FAS as the paper trains it, arXiv 2401.09006 §III-D).
In training mode it returns {"logit", "feature", "domain_logit"}; in evaluation mode the bona fide logit
alone, like every binary detector of the course, so scoring and ONNX export see a plain classifier.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from faslearn.losses import DANN, SSDG, Objective
from faslearn.models import baselines, oanet  # noqa: F401  (they register the backbones wrapped here)
from faslearn.models.registry import create_model, model_entry, register_model
from faslearn.utils import check_number


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad, None


def reverse_gradient(x: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """The gradient reversal layer: returns ``x`` unchanged; on the way back multiplies the gradient by −weight."""
    return _ReverseGradient.apply(x, float(weight))


def grl_weight(progress: float, gamma: float = 10.0) -> float:
    """The GRL's ramp, λ(p) = 2 / (1 + exp(−γ p)) − 1 for training progress p in [0, 1]: 0 → 1, half-way 0.987."""
    return 2.0 / (1.0 + math.exp(-gamma * min(max(progress, 0.0), 1.0))) - 1.0


def normalise_features(f: torch.Tensor) -> torch.Tensor:
    """SSDG's feature normalisation, f / (‖f‖^½ · √2): the norm becomes ‖f‖^½ / √2, large norms are compressed."""
    return f / (f.norm(dim=1, keepdim=True).clamp_min(1e-12).sqrt() * math.sqrt(2.0))


def strip_head(backbone: nn.Module) -> int:
    """Replace the backbone's last linear layer by the identity, in place; returns its input width.

    Knows the course's binary detectors: torchvision's ResNet (``fc``), the ViT (``head``), OA-Net (``vit.head``).
    """
    owner, name = ((backbone.vit, "head") if hasattr(backbone, "vit") else
                   (backbone, "head") if isinstance(getattr(backbone, "head", None), nn.Linear) else
                   (backbone, "fc") if isinstance(getattr(backbone, "fc", None), nn.Linear) else (None, None))
    if owner is None:
        raise ValueError(f"{type(backbone).__name__} has no last linear layer named head or fc to replace")
    width = getattr(owner, name).in_features
    setattr(owner, name, nn.Identity())
    return width


class DomainGeneralised(nn.Module):
    """A backbone's features, a bona fide classifier and a domain discriminator behind a gradient reversal layer.

    Args:
        backbone: a binary detector of the course (its last linear layer is replaced; `strip_head`).
        num_domains: the discriminator's outputs (the benchmark's domains; a target domain's output is never
            trained).
        total_steps: training steps over which the GRL's weight ramps from 0 to 1 (`grl_weight`).
        normalise: SSDG's normalised features and classifier weights (True), or a plain linear classifier (DANN).
        embed_dim: the width of the embedder (a linear layer, ReLU and dropout after the backbone; SSDG: 512).
        logit_scale: s in logit = s · (ŵ_bona fide − ŵ_attack) · f + b for a normalised classifier (SSDG's code: 1).
    """

    def __init__(self, backbone: nn.Module, num_domains: int = 4, total_steps: int = 4000, normalise: bool = True,
                 embed_dim: int = 512, logit_scale: float = 1.0):
        super().__init__()
        check_number(num_domains, "num_domains", 2, integer=True)
        check_number(embed_dim, "embed_dim", 1, integer=True)
        check_number(logit_scale, "logit_scale", above=0)
        if logit_scale != 1 and not normalise:
            raise ValueError("logit_scale scales a normalised classifier's logit; with normalise=False leave it at 1")
        self.logit_scale = logit_scale
        check_number(total_steps, "total_steps", 1, integer=True)
        self.backbone, self.normalise, self.total_steps = backbone, normalise, total_steps
        width = strip_head(backbone)
        # SSDG's embedder (the official code: ResNet-18's pooled features → FC 512 → ReLU → dropout): features whose
        # norm is free to grow, which the normalised classifier needs to make confident logits
        self.embedder = nn.Sequential(nn.Linear(width, embed_dim), nn.ReLU(inplace=True), nn.Dropout(0.5))
        width = embed_dim
        self.classifier = nn.Linear(width, 2)  # rows: attack, bona fide
        self.discriminator = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                           nn.Linear(width, num_domains))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        # the backbone's last features: ViT and OA-Net name them, a ResNet without its fc returns them
        features = self.backbone.features(x) if hasattr(self.backbone, "features") else self.backbone(x)
        f = self.embedder(features)
        return normalise_features(f) if self.normalise else f

    def logit(self, f: torch.Tensor) -> torch.Tensor:
        """The bona fide logit: the difference of the two classes' logits, so that σ(logit) equals their softmax."""
        w = F.normalize(self.classifier.weight, dim=1) if self.normalise else self.classifier.weight
        two = F.linear(f, w) * self.logit_scale + self.classifier.bias
        return two[:, 1] - two[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        f = self.features(x)
        if not self.training:
            return self.logit(f)
        weight = grl_weight(self.step.item() / self.total_steps)
        self.step += 1
        return {"logit": self.logit(f), "feature": f,
                "domain_logit": self.discriminator(reverse_gradient(f, weight)), "grl_weight": weight}


# The normalised classifier's logit is at most 2‖f‖ with ‖f‖ = ‖f_raw‖^½ / √2: about ±4 for the course's
# backbones trained from scratch (‖f_raw‖ ≈ 10), far less than an ImageNet-pretrained ResNet-18's, and it
# multiplies every gradient into the backbone by the same small factor. Measured on the ViT (studio target,
# seed 0, 10 epochs, the classification loss alone): the dev loss fell only from 0.64 to 0.57. A fixed scale on
# the cosine logit (NormFace, Wang et al., arXiv 1704.06369) gives it the range back; the registered ssdg_*
# models use 4.
SSDG_LOGIT_SCALE = 4.0
BACKBONES = ("resnet18", "vit", "oanet")  # SSDG-R, SSDG on the ViT, AG-FAS (OA-Net trained with SSDG)
DG_SETTINGS = ("num_domains", "total_steps")


def _register(objective_name: str, backbone: str) -> None:
    entry = model_entry(backbone)
    normalise = objective_name == "ssdg"

    def build(num_domains: int = 4, total_steps: int = 4000, **settings) -> DomainGeneralised:
        return DomainGeneralised(create_model(backbone, **settings), num_domains, total_steps, normalise,
                                 logit_scale=SSDG_LOGIT_SCALE if normalise else 1.0)

    build.__name__ = f"{objective_name}_{backbone}"
    build.__doc__ = (f"{backbone} trained with {objective_name.upper()}'s objective: `DomainGeneralised`.")
    objective = SSDG if normalise else DANN
    register_model(f"{objective_name}_{backbone}", objective, settings=entry.settings + DG_SETTINGS,
                   exportable=entry.exportable, inputs=entry.inputs)(build)


for _objective in ("ssdg", "dann"):
    for _backbone in BACKBONES:
        _register(_objective, _backbone)


OBJECTIVES = ("erm", "ssdg", "dann")  # empirical risk minimisation (plain training), SSDG, domain-adversarial


def network_name(variant: str, objective: str = "erm") -> str:
    """The registered network that train_oanet.ipynb trains for a ``variant`` (`faslearn.models.oanet.VARIANTS`)
    and an ``objective``: the variant's own network for "erm", its ``ssdg_``/``dann_`` wrapper otherwise."""
    from faslearn.models.oanet import VARIANTS

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    model = VARIANTS[variant][0]
    if objective == "erm":
        return model
    if model not in BACKBONES:
        raise ValueError(f"objective {objective!r} wraps one of the backbones {list(BACKBONES)}; variant {variant!r} "
                         f"is a {model}")
    return f"{objective}_{model}"


def make_objective(objective: str = "erm", network: str = "vit", lambda_triplet: float = 2.0,
                   lambda_adversarial: float = 0.1) -> Objective:
    """The (loss, score) pair of an ``objective`` for the registered ``network``, with the given weights."""
    from faslearn.losses import dann_objective, ssdg_objective
    from faslearn.models.registry import model_objective

    check_number(lambda_triplet, "lambda_triplet", 0)
    check_number(lambda_adversarial, "lambda_adversarial", 0)
    if objective == "ssdg":
        return ssdg_objective(lambda_triplet, lambda_adversarial)
    if objective == "dann":
        return dann_objective(lambda_adversarial)
    return model_objective(network)
