"""The Off-real Attention Network (OA-Net) of AG-FAS ("Generalized Face Liveness Detection via De-fake Face
Generator", arXiv 2401.09006, §III-C), with the plain ViT it extends and the dual-branch network it is
compared with (Table V).

A Vision Transformer reads the image as a sequence of patches; OA-Net adds, in every layer, a
cross-attention in which the image tokens ask the tokens of the *anomalous cue* (the residual between the
face and the De-fake Face Generator's "real" version of it, `faslearn.models.dfg`) where the face is
off-real:

    image x (3, S, S) ──patches──> tokens h⁰ (1 + N, D)       cue r (3, S, S) ──CueEncoder──> c (M, D_c)
    for every layer ℓ:
        h ← h + SelfAttention(LN(h))                             softmax(Q Kᵀ / √d) V, Q, K, V from h
        h ← h + CrossAttention(LN(h), LN(c))                     Q from the image tokens, K and V from the cue's
        h ← h + MLP(LN(h))
    logit = w · LN(h_CLS) + b                                    σ(logit) = probability of bona fide

The cross-attention's output projection starts at **zero** ("We initialize the weight of the last linear
layer of the cross-attention module to be zero, so the mainstem network does not receive information from
the anomalous cue branch at the beginning"): at initialisation OA-Net computes exactly the plain ViT, and
training decides how much of the cue to let in. ``tests/test_oanet.py`` checks the equality.

Inputs follow the official data loader, which stacks the image and its cue into one tensor: the registered
``oanet`` and ``dual_branch`` take (B, 6, S, S) = the image in [-1, 1] and its standardised cue
(`faslearn.models.dfg.standardise`), so one augmentation moves both together (`FrameDataset(cue=...)`).
The plain ``vit`` takes (B, 3, S, S): the image ("only image") or the cue alone ("only residual").

Sizes. The course's default is a small ViT (64 px, patch 8 → 64 tokens, width 96, depth 4, a convolutional
stem) and a small CNN cue encoder (three stride-2 stages → an 8 × 8 grid of 64 tokens). The paper's is
ViT-B/16 at 224 px (width 768, depth 12, 12 heads) with a ResNet-18 cue encoder (layers 1-4 → 512-channel tokens):
``OANet.full_size()``; ``load_vit_weights`` reads a local torchvision ``vit_b_16`` state dict in
safetensors, never a download.
"""
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet18

from faslearn.checkpoints import read_safetensors
from faslearn.losses import BINARY
from faslearn.models.registry import register_model
from faslearn.utils import check_number

CUE_CHANNELS = 3  # the residual x − x̂ has the image's channels
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)  # OpenAI CLIP's
# AG-FAS's Table V rows and the course's CNN baseline: what train_oanet.ipynb's ``variant`` builds (a registered
# model) and what it reads
VARIANTS = {"only_image": ("vit", "image"), "only_residual": ("vit", "cue"),
            "dual_branch": ("dual_branch", "image+cue"), "oanet": ("oanet", "image+cue"),
            "resnet18": ("resnet18", "image")}


class Attention(nn.Module):
    """Multi-head attention: Attention(Q, K, V) = softmax(Q Kᵀ / √d) V per head, heads concatenated, then
    projected. Q comes from ``x``; K and V from ``context`` (self-attention when it is None).

    Args:
        dim: width of ``x`` (and of the output).
        heads: number of heads; each has d = dim / heads channels.
        context_dim: width of ``context`` (default ``dim``).
        zero_init: start the output projection at zero (OA-Net's cross-attention).
    """

    def __init__(self, dim: int, heads: int, context_dim: int | None = None, zero_init: bool = False):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim or dim, 2 * dim)  # [W_k; W_v]
        self.proj = nn.Linear(dim, dim)
        if zero_init:
            nn.init.zeros_(self.proj.weight)
            nn.init.zeros_(self.proj.bias)
        self.record = False  # keep the attention weights of the last forward in ``self.weights`` (for figures)
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        (b, n, d), h = x.shape, self.heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)  # (B, h, N, d/h)
        k, v = self.kv(context).view(b, -1, 2, h, d // h).permute(2, 0, 3, 1, 4)  # each (B, h, M, d/h)
        if self.record:
            weights = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)  # (B, h, N, M), rows sum to 1
            self.weights = weights.detach()
            out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # the same, fused
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class QuickGELU(nn.Module):
    """CLIP's approximation of GELU, x · σ(1.702 x)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """One pre-LN transformer layer: self-attention, [cross-attention to the cue,] MLP, each residual.

    Args:
        dim, heads: width and heads.
        mlp_ratio: the MLP's hidden width over ``dim``.
        cue_dim: width of the cue tokens; None builds a plain ViT layer (no cross-attention).
        activation: the MLP's, "gelu" or "quick_gelu" (CLIP's x · σ(1.702 x)).
        eps: the LayerNorms' (CLIP's: 1e-5).
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, cue_dim: int | None = None,
                 activation: str = "gelu", eps: float = 1e-6):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=eps), Attention(dim, heads)
        if cue_dim is not None:
            self.norm_cross, self.norm_cue = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(cue_dim, eps=1e-6)
            self.cross = Attention(dim, heads, context_dim=cue_dim, zero_init=True)
        else:
            self.cross = None
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        act = nn.GELU() if activation == "gelu" else QuickGELU()
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), act, nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x: torch.Tensor, cue: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        if self.cross is not None:
            if cue is None:
                raise ValueError("this layer attends to cue tokens: pass cue=(B, M, cue_dim)")
            x = x + self.cross(self.norm_cross(x), self.norm_cue(cue))
        return x + self.mlp(self.norm2(x))


@register_model("vit", BINARY, settings=("image_size", "patch_size", "width", "depth", "heads", "stem", "mlp_ratio",
                                          "style"))
class ViT(nn.Module):
    """A Vision Transformer (Dosovitskiy et al., arXiv 2010.11929) with one bona fide logit.

    forward(x), x (B, in_channels, S, S) → logit (B,). ``features`` returns the final CLS token (B, width),
    attending to ``cue`` tokens in every layer when the ViT was built with ``cue_dim`` (OA-Net's mainstem).

    Args:
        image_size, patch_size: S and the patch side P; (S / P)² patch tokens plus a CLS token.
        width, depth, heads, mlp_ratio: the transformer's.
        in_channels: 3 (an image, or a cue read alone).
        cue_dim: give every layer a cross-attention to cue tokens of this width (None: a plain ViT).
        stem: "patch" (the paper's: each P × P patch projected linearly) or "conv" (log2 P stride-2 3×3
            convolutions, then a 1×1 projection: the same tokens, which a ViT trained from scratch on little
            data learns far more easily; Xiao et al., "Early Convolutions Help Transformers See Better",
            arXiv 2106.14881).
        style: "course" (pre-LN layers, GELU), or "clip": OpenAI CLIP's visual tower (Radford et al., arXiv
            2103.00020), which standardises the image by CLIP's mean and std, normalises the tokens before the first
            layer (``ln_pre``), uses QuickGELU and LayerNorms of eps 1e-5, so that `load_clip_weights` loads a CLIP
            ViT-B/16 (FLIP's backbone) and computes its features.
    """

    def __init__(self, image_size: int = 64, patch_size: int = 8, width: int = 96, depth: int = 4, heads: int = 4,
                 mlp_ratio: float = 2.0, in_channels: int = 3, cue_dim: int | None = None, stem: str = "conv",
                 style: str = "course"):
        super().__init__()
        if style not in ("course", "clip"):
            raise ValueError(f"style must be 'course' or 'clip', got {style!r}")
        for name, value in (("image_size", image_size), ("patch_size", patch_size), ("width", width),
                            ("depth", depth), ("heads", heads)):
            check_number(value, f"{name} (of a ViT)", 1, integer=True)
        check_number(mlp_ratio, "mlp_ratio", above=0)
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.image_size, self.patch_size = image_size, patch_size
        if stem == "patch":
            self.patch_embed = nn.Conv2d(in_channels, width, kernel_size=patch_size, stride=patch_size)
        elif stem == "conv":
            stages = patch_size.bit_length() - 1
            if 2 ** stages != patch_size:
                raise ValueError(f"a conv stem halves the image log2(patch_size) times: patch_size must be a power "
                                 f"of 2, got {patch_size}")
            widths = [in_channels] + [max(width // 2 ** (stages - i), 16) for i in range(stages)]
            self.patch_embed = nn.Sequential(*(nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False),
                                                             nn.BatchNorm2d(b), nn.ReLU(inplace=True))
                                               for a, b in zip(widths, widths[1:])),
                                             nn.Conv2d(widths[-1], width, kernel_size=1))
        else:
            raise ValueError(f"stem must be 'patch' or 'conv', got {stem!r}")
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + (image_size // patch_size) ** 2, width) * 0.02)
        self.style = style
        clip, eps = style == "clip", 1e-5 if style == "clip" else 1e-6
        self.pre_norm = nn.LayerNorm(width, eps=eps) if clip else nn.Identity()
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio, cue_dim, "quick_gelu" if clip else "gelu", eps)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=eps)
        # CLIP's input normalisation: its images in [0, 1] standardised by OpenAI's per-channel mean and std, i.e.
        # ours in [-1, 1] by 2·mean − 1 and 2·std (course-style ViTs: 0 and 1, the identity). Not saved with weights.
        mean, std = (torch.tensor(CLIP_MEAN) * 2 - 1, torch.tensor(CLIP_STD) * 2) if clip else (torch.zeros(3),
                                                                                              torch.ones(3))
        self.register_buffer("input_mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", std.view(1, 3, 1, 1), persistent=False)
        self.head = nn.Linear(width, 1)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Patches → tokens (B, 1 + N, width): CLS first, position embeddings added."""
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(f"expected images of {self.image_size}×{self.image_size} px, got {tuple(x.shape[-2:])}")
        if self.style == "clip":  # CLIP's input normalisation
            x = (x - self.input_mean) / self.input_std
        patches = self.patch_embed(x.contiguous()).flatten(2).transpose(1, 2)  # (B, N, width); one memory layout
        return self.pre_norm(torch.cat([self.cls_token.expand(x.shape[0], -1, -1), patches], dim=1) + self.pos_embed)

    def features(self, x: torch.Tensor, cue: torch.Tensor | None = None) -> torch.Tensor:
        h = self.tokens(x)
        for block in self.blocks:
            h = block(h, cue)
        return self.norm(h[:, 0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


class CueEncoder(nn.Module):
    """The anomalous cue (B, 3, S, S) → a grid of tokens (B, M, cue_dim).

    ``kind="cnn"`` (the course): three stride-2 3×3 conv-BN-ReLU stages, S/8 × S/8 tokens (64 at 64 px).
    ``kind="resnet18"`` (the paper): ResNet-18's stem and layers 1-4, S/32 × S/32 tokens of 512 channels
    (8 × 8 = 64 at 256 px, 7 × 7 at 224).
    """

    def __init__(self, kind: str = "cnn", cue_dim: int = 128):
        super().__init__()
        check_number(cue_dim, "cue_dim", 4, integer=True)
        if kind == "cnn":
            widths = (CUE_CHANNELS, cue_dim // 4, cue_dim // 2, cue_dim)
            self.net = nn.Sequential(*(nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False),
                                                     nn.BatchNorm2d(b), nn.ReLU(inplace=True))
                                       for a, b in zip(widths, widths[1:])))
        elif kind == "resnet18":
            if cue_dim != 512:
                raise ValueError(f"a ResNet-18 cue encoder gives 512-channel tokens, got cue_dim={cue_dim}")
            r = resnet18(weights=None)
            self.net = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)
        else:
            raise ValueError(f"cue encoder kind must be 'cnn' or 'resnet18', got {kind!r}")
        self.kind, self.cue_dim = kind, cue_dim

    def forward(self, cue: torch.Tensor) -> torch.Tensor:
        return self.net(cue).flatten(2).transpose(1, 2)  # (B, M, cue_dim)


def _split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.ndim != 4 or x.shape[1] != 3 + CUE_CHANNELS:
        raise ValueError(f"expected (B, 6, S, S): the image in [-1, 1] and its standardised cue stacked on the "
                         f"channels, got shape {tuple(x.shape)}")
    return x[:, :3], x[:, 3:]


@register_model("oanet", BINARY, settings=("image_size", "patch_size", "width", "depth", "heads", "cue_dim", "stem",
                                            "mlp_ratio", "cue_encoder"),
                inputs="image+cue")
class OANet(nn.Module):
    """OA-Net: a ViT whose every layer also attends to the cue's tokens (module docstring).

    forward(x), x (B, 6, S, S) = image and standardised cue → logit (B,). ``attention_maps`` after a forward
    with ``record_attention(True)`` gives each layer's self- and cross-attention weights.

    Args:
        image_size, patch_size, width, depth, heads, mlp_ratio: the ViT's (`ViT`).
        cue_dim: width of the cue tokens.
        cue_encoder: "cnn" (the course) or "resnet18" (the paper; cue_dim 512).
    """

    def __init__(self, image_size: int = 64, patch_size: int = 8, width: int = 96, depth: int = 4, heads: int = 4,
                 mlp_ratio: float = 2.0, cue_dim: int = 96, cue_encoder: str = "cnn", stem: str = "conv"):
        super().__init__()
        self.vit = ViT(image_size, patch_size, width, depth, heads, mlp_ratio, cue_dim=cue_dim, stem=stem)
        self.cue_encoder = CueEncoder(cue_encoder, cue_dim)

    @classmethod
    def full_size(cls, image_size: int = 224) -> "OANet":
        """The paper's: ViT-B/16 (width 768, depth 12, 12 heads, MLP 3072) and a ResNet-18 cue encoder."""
        return cls(image_size, 16, 768, 12, 12, 4.0, cue_dim=512, cue_encoder="resnet18", stem="patch")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The final CLS token (B, width) of the mainstem, which attended to the cue in every layer."""
        image, cue = _split(x)
        return self.vit.features(image, self.cue_encoder(cue))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vit.head(self.features(x)).squeeze(1)

    def record_attention(self, on: bool = True) -> None:
        for module in self.modules():
            if isinstance(module, Attention):
                module.record, module.weights = on, None

    def attention_maps(self) -> dict[str, list[torch.Tensor]]:
        """{"self": per layer (B, heads, 1 + N, 1 + N), "cross": per layer (B, heads, 1 + N, M)} of the last
        forward (after ``record_attention(True)``); row 0 is the CLS token's query."""
        if self.vit.blocks[0].attn.weights is None:
            raise RuntimeError("no attention recorded: call record_attention(True), then run a forward")
        return {"self": [b.attn.weights for b in self.vit.blocks], "cross": [b.cross.weights for b in self.vit.blocks]}


@register_model("dual_branch", BINARY, settings=("image_size", "patch_size", "width", "depth", "heads", "stem"),
                inputs="image+cue")
class DualBranch(nn.Module):
    """Table V's "dual-branch": two ViTs, one on the image and one on the cue, their CLS features concatenated
    before the classifier (the paper: "uses two ViT-base models to extract the features of the anomalous cue
    and the original image, respectively, and concatenates the features").

    forward(x), x (B, 6, S, S) → logit (B,).
    """

    def __init__(self, image_size: int = 64, patch_size: int = 8, width: int = 96, depth: int = 4, heads: int = 4,
                 mlp_ratio: float = 2.0, stem: str = "conv"):
        super().__init__()
        self.image_branch = ViT(image_size, patch_size, width, depth, heads, mlp_ratio, stem=stem)
        self.cue_branch = ViT(image_size, patch_size, width, depth, heads, mlp_ratio, stem=stem)
        del self.image_branch.head, self.cue_branch.head  # one classifier reads both
        self.head = nn.Linear(2 * width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image, cue = _split(x)
        return self.head(torch.cat([self.image_branch.features(image), self.cue_branch.features(cue)], 1)).squeeze(1)


def _load_checked(vit: ViT, state: dict, path: Path, whole: str) -> None:
    """Load ``state`` (keys of ``vit``) into ``vit`` after checking it fits: every key known and of the right shape,
    and every weight of a plain ViT given (the cross-attention layers a plain ViT has not, and the classifier, may
    be missing). ``whole`` names what the file should hold, for the message."""
    own = vit.state_dict()
    wrong = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if wrong:
        raise ValueError(f"{path} does not fit this ViT ({vit.image_size} px, patch {vit.patch_size}, width "
                         f"{vit.pos_embed.shape[-1]}, {len(vit.blocks)} layers): unknown or mis-shaped {wrong[:3]}")
    missing = [k for k in own if k not in state and ".cross" not in k and "norm_cue" not in k
               and "norm_cross" not in k and not k.startswith("head.")]
    if missing:
        raise ValueError(f"{path} does not hold a whole {whole}: missing {missing[:3]}")
    vit.load_state_dict(state, strict=False)


def load_vit_weights(vit: ViT, path: str | Path) -> None:
    """Load a local torchvision ``vit_b_16`` state dict (safetensors; e.g. ImageNet weights converted once with
    ``safetensors.torch.save_file(torchvision.models.vit_b_16(weights=...).state_dict(), path)`` on a machine
    with the network) into ``vit`` (built at the same size). Its classifier is left out; cross-attention layers,
    which torchvision has not, keep their (zero) initialisation."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors ViT weights file at {path}")
    state, _ = read_safetensors(path, "ViT weights file", "a torchvision vit_b_16 state dict")
    mine, d = {}, vit.pos_embed.shape[-1]
    for key, value in state.items():
        if key.startswith("heads."):
            continue
        key = key.replace("conv_proj.", "patch_embed.").replace("class_token", "cls_token")
        key = key.replace("encoder.pos_embedding", "pos_embed").replace("encoder.ln.", "norm.")
        if key.startswith("encoder.layers.encoder_layer_"):
            layer, rest = key[len("encoder.layers.encoder_layer_"):].split(".", 1)
            rest = (rest.replace("ln_1.", "norm1.").replace("ln_2.", "norm2.").replace("mlp.0.", "mlp.0.")
                    .replace("mlp.3.", "mlp.2.").replace("self_attention.out_proj.", "attn.proj."))
            if rest.startswith("self_attention.in_proj_"):  # [W_q; W_k; W_v] → q and kv
                kind = rest.rsplit("_", 1)[1]
                mine[f"blocks.{layer}.attn.q.{kind}"] = value[:d]
                mine[f"blocks.{layer}.attn.kv.{kind}"] = value[d:]
                continue
            key = f"blocks.{layer}.{rest}"
        mine[key] = value
    _load_checked(vit, mine, path, "ViT")


def load_clip_weights(vit: ViT, path: str | Path) -> None:
    """Load the visual tower of a local OpenAI-layout CLIP checkpoint (safetensors; keys ``visual.conv1.weight``,
    ``visual.transformer.resblocks.N.attn.in_proj_weight``, ... with or without the ``visual.`` prefix; e.g. ViT-B/16,
    converted once on a machine with the network) into ``vit``, built with ``style="clip"``, ``stem="patch"`` and
    the checkpoint's sizes (ViT-B/16: image_size 224, patch_size 16, width 768, depth 12, heads 12, mlp_ratio 4).
    CLIP's patch convolution has no bias (ours is set to zero); its projection to the text space (``proj``) is
    left out: the classifier reads the normalised CLS token, as FLIP's does before its own projection."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors CLIP weights file at {path}")
    if not isinstance(vit.pre_norm, nn.LayerNorm) or not isinstance(vit.patch_embed, nn.Conv2d):
        raise ValueError("build the ViT with style='clip' and stem='patch' to load CLIP weights into it")
    state, _ = read_safetensors(path, "CLIP weights file", "an OpenAI-layout CLIP state dict")
    if any(k.startswith("visual.") for k in state):  # a whole CLIP model: its visual tower only
        state = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
    d = vit.pos_embed.shape[-1]
    names = {"conv1.weight": "patch_embed.weight", "class_embedding": "cls_token", "positional_embedding": "pos_embed",
             "ln_pre.weight": "pre_norm.weight", "ln_pre.bias": "pre_norm.bias", "ln_post.weight": "norm.weight",
             "ln_post.bias": "norm.bias"}
    mine = {"patch_embed.bias": torch.zeros(d)}
    for key, value in state.items():
        if key == "proj":
            continue
        if key.startswith("transformer.resblocks."):
            layer, rest = key[len("transformer.resblocks."):].split(".", 1)
            if rest.startswith("attn.in_proj_"):  # [W_q; W_k; W_v] → q and kv
                kind = rest.rsplit("_", 1)[1]
                mine[f"blocks.{layer}.attn.q.{kind}"] = value[:d]
                mine[f"blocks.{layer}.attn.kv.{kind}"] = value[d:]
                continue
            rest = (rest.replace("attn.out_proj.", "attn.proj.").replace("ln_1.", "norm1.").replace("ln_2.", "norm2.")
                    .replace("mlp.c_fc.", "mlp.0.").replace("mlp.c_proj.", "mlp.2."))
            mine[f"blocks.{layer}.{rest}"] = value
            continue
        if key not in names:
            raise ValueError(f"{path} is not a CLIP visual tower: unexpected key {key!r}")
        mine[names[key]] = value.reshape(vit.state_dict()[names[key]].shape) if key in (
            "class_embedding", "positional_embedding") and value.numel() == vit.state_dict()[names[key]].numel() \
            else value
    _load_checked(vit, mine, path, "CLIP visual tower")


def load_pretrained_vit(vit: ViT, path: str | Path) -> None:
    """Start ``vit`` from a local safetensors file of any of three layouts, told apart by its keys: an OpenAI CLIP
    visual tower (`load_clip_weights`), a torchvision ``vit_b_16`` (`load_vit_weights`), or a faslearn ViT's own
    weights (a checkpoint of `faslearn.checkpoints.save_checkpoint`, e.g. pre-trained by ``scripts/pretrain_vit.py``,
    `faslearn.models.mim`); the classifier is left out, as are the cross-attention layers a plain ViT has not."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors ViT weights file at {path}")
    state, _ = read_safetensors(path, "ViT weights file", "a CLIP, torchvision or faslearn ViT state dict")
    if any(k.startswith(("visual.", "transformer.resblocks.")) or k == "class_embedding" for k in state):
        return load_clip_weights(vit, path)
    if any(k.startswith("encoder.layers.") for k in state):
        return load_vit_weights(vit, path)
    if any(k.startswith("model.") for k in state):  # a faslearn checkpoint (save_checkpoint): its model's weights
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    if "cls_token" not in state:
        raise ValueError(f"{path} holds no ViT: expected a CLIP visual tower, a torchvision vit_b_16 or a faslearn ViT")
    _load_checked(vit, {k: v for k, v in state.items() if not k.startswith("head.")}, path, "ViT")
