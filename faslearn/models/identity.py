"""A small face-recognition network: the identity the De-fake Face Generator is conditioned on.

AG-FAS (Long et al.) conditions its latent diffusion model on the identity of the input face, read by
ArcFace from the input image itself: ArcFace's 7×7×512 feature map before pooling enters the UNet's
cross-attention as 49 tokens. No ArcFace weights can be had offline, so the course trains a small one
with ArcFace's loss (Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
CVPR 2019) on the bona fide pool. Every embedding x and class centre w_j is L2-normalised, so their
product is the cosine of the angle θ_j between them; the true class y gets an additive angular margin:

    L = −log( e^{s·cos(θ_y + m)} / (e^{s·cos(θ_y + m)} + Σ_{j≠y} e^{s·cos θ_j}) )

A face must then lie within θ_y < θ_j − m of its own centre: the classes are separated by a margin of
angle, and at test time two faces are the same person when the cosine of their embeddings is high.

    encoder = train_identity_encoder(pool.images, pool.identity, steps=1500)
    tokens, embedding = encoder.features(images)   # (B, 16, 64) at 64 px, (B, 128) of unit norm
    verification(embed(encoder, held_out.images), held_out.identity)   # auc, eer, tar_at_far_0.01 ...

At full scale a real ArcFace can take its place: `OnnxIdentityEncoder("w600k_r50.onnx")` reads one from a
local ONNX file (its embedding is then the one token).
"""
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from numpy.typing import ArrayLike

from faslearn.train import fit_steps
from faslearn.utils import get_device, seed_everything


class _Block(nn.Module):
    """Residual block: conv3×3(stride)-BN-ReLU-conv3×3-BN, plus a 1×1 projection when the shape changes."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.shortcut = nn.Identity() if stride == 1 and in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class IdentityEncoder(nn.Module):
    """Residual CNN from an S×S face in [-1, 1] to ``tokens`` and an L2-normalised ``embedding``.

    Four stride-2 steps take S to S/16 (4×4 at 64 px) with widths w, w, 2w, 4w. A 1×1 convolution
    projects that last map to ``token_dim`` channels: flattened row-major these are the tokens, as
    AG-FAS feeds ArcFace's pre-pooling map to cross-attention. The embedding reads the same map with
    ArcFace's head, simplified to BN-flatten-FC-BN (the map pooled to 4×4 first when S ≠ 64), so the
    recognition loss trains the tokens too. S must be a multiple of 16; ``num_tokens`` is T at 64 px,
    (S/16)² in general.
    """

    grid = 4  # the embedding reads a 4×4 map, the whole map at 64 px

    def __init__(self, width: int = 32, embedding_dim: int = 128, token_dim: int = 64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True))
        self.stages = nn.Sequential(_Block(width, width, 2), _Block(width, 2 * width, 2),
                                    _Block(2 * width, 2 * width, 1), _Block(2 * width, 4 * width, 2),
                                    _Block(4 * width, 4 * width, 1))
        self.to_tokens = nn.Conv2d(4 * width, token_dim, 1)
        self.head = nn.Sequential(nn.BatchNorm2d(token_dim), nn.Flatten(),
                                  nn.Linear(token_dim * self.grid ** 2, embedding_dim, bias=False),
                                  nn.BatchNorm1d(embedding_dim))
        self.embedding_dim, self.token_dim, self.num_tokens = embedding_dim, token_dim, self.grid ** 2
        self.config = {"width": width, "embedding_dim": embedding_dim, "token_dim": token_dim}  # rebuilds it

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens, embedding)``: (B, (S/16)², token_dim) and (B, embedding_dim) with ‖embedding‖ = 1."""
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
            raise ValueError(f"expected faces of shape (B, 3, S, S), got {tuple(images.shape)}")
        if images.shape[2] % 16 or images.shape[2] < 16:
            raise ValueError(f"the face size S must be a multiple of 16, got {images.shape[2]}")
        feature = self.to_tokens(self.stages(self.stem(images)))       # (B, token_dim, S/16, S/16)
        tokens = feature.flatten(2).transpose(1, 2)                     # (B, T, token_dim), row-major
        embedding = self.head(F.adaptive_avg_pool2d(feature, self.grid))
        return tokens, F.normalize(embedding, dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)[1]


class OnnxIdentityEncoder(nn.Module):
    """A frozen face-recognition network from a local ONNX file, for full-scale runs: e.g. an ArcFace
    ResNet exported by InsightFace (input (N, 3, 112, 112), output a 512-D embedding), copied to disk by
    hand. Same interface as `IdentityEncoder`: faces (B, 3, S, S) in [-1, 1] are resized to the file's
    input size (InsightFace normalises to (x − 127.5) / 127.5, the same range), and the unit-norm
    embedding is the one identity token, (B, 1, D). ``bgr=True`` for networks trained on OpenCV's
    channel order. ONNX is a protobuf graph, not a pickle: loading it runs no code of the file's."""

    def __init__(self, path: str | Path, bgr: bool = False):
        super().__init__()
        import onnxruntime  # the `onnx` extra

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no ONNX identity model at {self.path}: expected a .onnx file")
        self.session = onnxruntime.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        (face_input,), output = self.session.get_inputs(), self.session.get_outputs()[0]
        shape = face_input.shape
        if len(shape) != 4 or shape[1] != 3 or not all(isinstance(n, int) for n in shape[2:]) or \
                len(output.shape) != 2 or not isinstance(output.shape[1], int):
            raise ValueError(f"{self.path}: expected one input of shape (N, 3, H, W) and an output (N, D), got "
                             f"{shape} and {output.shape}")
        self.input_name, self.input_size, self.bgr = face_input.name, tuple(shape[2:]), bgr
        self.embedding_dim = self.token_dim = output.shape[1]
        self.num_tokens = 1
        self.config = {"onnx": self.path.name, "bgr": bgr}

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens, embedding)``: (B, 1, D) and (B, D), the file's embedding normalised to unit length."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected faces of shape (B, 3, S, S), got {tuple(images.shape)}")
        faces = F.interpolate(images.float(), size=self.input_size, mode="bilinear", align_corners=False,
                              antialias=True)
        if self.bgr:
            faces = faces.flip(1)
        embedding = self.session.run(None, {self.input_name: faces.detach().cpu().numpy()})[0]
        embedding = F.normalize(torch.from_numpy(embedding).to(images.device), dim=1)
        return embedding[:, None], embedding

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)[1]


class ArcFaceLoss(nn.Module):
    """Additive angular margin loss; ``weight`` (num_classes, D) holds the class centres w_j.

    cos θ_j = ⟨x/‖x‖, w_j/‖w_j‖⟩; logits s·cos(θ_y + m) for the true class y and s·cos θ_j for the
    others; L = cross-entropy of the logits. When θ_y + m > π, cos(θ_y + m) would grow again with θ_y,
    so there (as in the reference code) the logit is s·(cos θ_y − m·sin m), which keeps falling.
    """

    def __init__(self, embedding_dim: int, num_classes: int, scale: float = 16.0, margin: float = 0.3):
        super().__init__()
        if scale <= 0 or not 0 <= margin < math.pi / 2:
            raise ValueError(f"need scale > 0 and 0 <= margin < π/2, got scale={scale}, margin={margin}")
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_dim))
        nn.init.xavier_uniform_(self.weight)
        self.scale, self.margin = float(scale), float(margin)

    def logits(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, num_classes): s·cos θ_j, with s·cos(θ_y + m) in each row's true class."""
        m = self.margin
        # clamped away from ±1: the gradient of sin θ = √(1 − cos²θ) is infinite there
        cos = F.linear(F.normalize(embeddings, dim=1), F.normalize(self.weight, dim=1)).clamp(-1 + 1e-7, 1 - 1e-7)
        cos_y = cos.gather(1, labels[:, None])
        sin_y = (1 - cos_y ** 2).sqrt()                        # θ ∈ [0, π], so sin θ ≥ 0
        cos_y_margin = cos_y * math.cos(m) - sin_y * math.sin(m)  # cos(θ + m) = cos θ cos m − sin θ sin m
        # θ + m > π ⇔ cos θ < cos(π − m): a linear fall-off, cos θ − m·sin m, instead
        cos_y_margin = torch.where(cos_y > math.cos(math.pi - m), cos_y_margin, cos_y - m * math.sin(m))
        return self.scale * cos.scatter(1, labels[:, None], cos_y_margin)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.logits(embeddings, labels), labels)


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 or float (B, S, S, 3) in 0..255 → float (B, 3, S, S) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 127.5 - 1)


def augment(images: np.ndarray, rng: np.random.Generator, shift: int = 4) -> torch.Tensor:
    """A training batch from uint8 faces (B, S, S, 3): each face mirrored with probability 1/2, cropped
    at a random offset of up to ±``shift`` px with a side of S ± ``shift`` (edge-padded) and resized
    back to S by nearest neighbour, its contrast scaled by U(0.8, 1.2) and its brightness moved by
    U(−0.1, 0.1). Returns float (B, 3, S, S) in [-1, 1]."""
    b, s = images.shape[:2]
    padded = np.pad(images, ((0, 0), (shift, shift), (shift, shift), (0, 0)), mode="edge")  # S + 2·shift
    side = rng.uniform(s - shift, s + shift, (b, 1))           # in the padded frame: zoom of ±shift/S
    top, left = rng.uniform(0, 1, (2, b, 1)) * (s + 2 * shift - side)
    grid = (np.arange(s) + 0.5) * side / s                      # pixel centres of the crop, (B, S)
    rows = np.minimum(top + grid, s + 2 * shift - 1).astype(int)
    cols = np.minimum(left + grid, s + 2 * shift - 1).astype(int)
    cols = np.where(rng.random((b, 1)) < 0.5, cols[:, ::-1], cols)  # horizontal flip
    x = _to_tensor(padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]])
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = torch.from_numpy(rng.uniform(0.8, 1.2, (b, 1, 1, 1)).astype(np.float32))
    brightness = torch.from_numpy(rng.uniform(-0.1, 0.1, (b, 1, 1, 1)).astype(np.float32))
    return ((x - mean) * contrast + mean + brightness).clamp(-1, 1)


@torch.no_grad()
def embed(encoder: IdentityEncoder | OnnxIdentityEncoder, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Embeddings (N, D) on the CPU of uint8 faces (N, S, S, 3), in batches, in eval mode."""
    was_training, device = encoder.training, next(encoder.parameters(), torch.empty(0)).device
    encoder.eval()
    out = [encoder(_to_tensor(images[i:i + batch_size]).to(device)).cpu() for i in range(0, len(images), batch_size)]
    encoder.train(was_training)
    return torch.cat(out)


def verification(embeddings: torch.Tensor | np.ndarray, identity: ArrayLike,
                 far: tuple[float, ...] = (1e-2, 1e-3)) -> dict:
    """Face verification over all pairs i < j of ``embeddings`` (N, D): the score of a pair is the
    cosine of its two embeddings, genuine pairs show the same ``identity`` and impostor pairs not.

    Returns the ROC's ``auc``; the ``eer``; ``tar_at_far_<f>``, the largest true accept rate among the
    thresholds with false accept rate ≤ f, for each f in ``far``; ``accuracy``, the best balanced
    accuracy (TAR + 1 − FAR)/2 over thresholds; and the number of ``genuine_pairs`` and ``impostor_pairs``.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    x = embeddings.detach().cpu().double().numpy() if torch.is_tensor(embeddings) else np.asarray(embeddings, float)
    identity = np.asarray(identity)
    if x.ndim != 2 or identity.shape != (len(x),):
        raise ValueError(f"expected embeddings (N, D) and identity (N,), got {x.shape} and {identity.shape}")
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    i, j = np.triu_indices(len(x), 1)
    scores, genuine = np.sum(x[i] * x[j], axis=1), identity[i] == identity[j]
    if genuine.all() or not genuine.any():
        raise ValueError("verification needs both genuine pairs (two faces of one identity) and impostor pairs")
    fpr, tpr, _ = roc_curve(genuine, scores, drop_intermediate=False)
    best = np.argmin(np.abs((1 - tpr) - fpr))                  # where FRR = 1 − TAR meets FAR
    result = {"auc": float(roc_auc_score(genuine, scores)), "eer": float((1 - tpr[best] + fpr[best]) / 2)}
    result |= {f"tar_at_far_{f:g}": float(tpr[fpr <= f].max()) for f in far}
    result["accuracy"] = float(np.max((tpr + 1 - fpr) / 2))
    return result | {"genuine_pairs": int(genuine.sum()), "impostor_pairs": int((~genuine).sum())}


def train_identity_encoder(images: ArrayLike, identity: ArrayLike, *, steps: int = 1500, batch_size: int = 128,
                           lr: float = 2e-3, width: int = 32, embedding_dim: int = 128, token_dim: int = 64,
                           scale: float = 16.0, margin: float = 0.3, seed: int = 0, device: str | None = None,
                           checkpoint_dir: str | Path | None = None, progress: bool = True) -> IdentityEncoder:
    """Train an `IdentityEncoder` with `ArcFaceLoss` on uint8 faces ``images`` (N, S, S, 3) of people
    ``identity`` (N,) (any integer labels) for ``steps`` AdamW steps of ``batch_size`` faces drawn at
    random and augmented (`augment`), with the shared loop `faslearn.train.fit_steps`.

    Returns the encoder in eval mode; its ``train_loss`` lists the loss of every step.
    """
    images, identity = np.asarray(images), np.asarray(identity)
    if images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2] or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 faces (N, S, S, 3), got {images.dtype} {images.shape}")
    if identity.shape != (len(images),) or not np.issubdtype(identity.dtype, np.integer):
        raise ValueError(f"identity must hold one integer per image, shape ({len(images)},), "
                         f"got {identity.dtype} {identity.shape}")
    classes, labels = np.unique(identity, return_inverse=True)  # face indices → classes 0..K−1
    if len(classes) < 2:
        raise ValueError("training a face recogniser needs at least two identities")
    device = get_device(device)
    seed_everything(seed)
    # channels-last (NHWC) convolutions train about 1.2× faster on CPU
    encoder = IdentityEncoder(width, embedding_dim, token_dim).to(device, memory_format=torch.channels_last)
    head = ArcFaceLoss(embedding_dim, len(classes), scale, margin).to(device)

    def draw_batch(rng):
        pick = rng.integers(0, len(images), batch_size)
        return augment(images[pick], rng), torch.from_numpy(labels[pick])

    def loss_fn(model, batch):
        faces, targets = batch
        return head(model(faces.to(device, memory_format=torch.channels_last)), targets.to(device))

    result = fit_steps(encoder, draw_batch, loss_fn, steps=steps, lr=lr, device=device, seed=seed,
                       checkpoint_dir=checkpoint_dir, progress=progress, desc="identity encoder",
                       extra_parameters=head.parameters())
    encoder.train_loss = result["loss"]
    return encoder.to(memory_format=torch.contiguous_format).eval()
