"""The De-fake Face Generator (DFG) of AG-FAS: a latent diffusion model that has only seen real faces.

Assembled from diffusers parts, as the paper assembles Stable Diffusion's:

    image x ──AutoencoderKL.encode──> latent z₀ ──forward process to step t──> z_t
    z_t ──UNet2DConditionModel(z_t, t, identity tokens), DDIM steps t → 0──> ẑ₀ ──decode──> x̂ ("real" x)

Forward process (DDPM):  z_t = √ᾱ_t · z₀ + √(1 − ᾱ_t) · ε,  ε ~ N(0, I),  ᾱ_t = ∏_{s≤t} (1 − β_s).
Training (the LDM objective, paper Eq. 1): minimise E ‖ε − ε_θ(z_t, t, c)‖² over real faces only,
where c are the identity tokens of the face (`faslearn.models.identity.IdentityEncoder`, or a real
ArcFace read from a local ONNX file, `OnnxIdentityEncoder`).
DDIM reverse step (η = 0, deterministic):
    ẑ₀ = (z_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t,   z_{t'} = √ᾱ_{t'} ẑ₀ + √(1 − ᾱ_{t'}) ε_θ.

`reconstruct` does SDEdit: it noises the input only part of the way (``strength`` = t / T; AG-FAS ablates
the number of steps in its Table VI and keeps the row of its headline result), far enough to drown a medium's traces
(Theorem 2), not so far that the face is lost (Theorem 1). The identity tokens let the model restore the
*same* person from further out, which is why conditioning widens the usable range of t (§IV-D). The
residual x − x̂ is the anomalous cue.

    dfg = DeFakeFaceGenerator.from_pretrained("path/to/folder")    # or fl.pretrained.load_dfg()
    fake_free = dfg.reconstruct(images, strength=0.6, steps=20)      # images in [-1, 1]
    cue = standardise(images - fake_free)                            # the cue a network reads
"""
import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from faslearn.cache import cached
from faslearn.checkpoints import load_weights, save_checkpoint
from faslearn.models.identity import IdentityEncoder, OnnxIdentityEncoder
from faslearn.utils import derive_seed

if TYPE_CHECKING:
    from faslearn.data import Benchmark

PARTS = ("autoencoder", "unet", "scheduler", "identity")


def build_autoencoder(width: int = 32, latent_channels: int = 4, downsample: int = 4) -> AutoencoderKL:
    """A small KL-regularised autoencoder, widths doubling from ``width`` / 2; ``downsample`` = 2^(levels − 1)
    (4: 64 px → 16 × 16 latents).
    Stable Diffusion's has widths 128-512 and downsamples 8×; this one trains on a CPU in minutes."""
    levels = int(np.log2(downsample)) + 1
    if 2 ** (levels - 1) != downsample:
        raise ValueError(f"downsample must be a power of two, got {downsample}")
    widths = tuple(width // 2 * 2 ** i for i in range(levels))  # 16, 32, 64 at width 32
    # GroupNorm with one group per first-level channel, as the shipped teaching DFG was trained; side by
    # side, a CPU training step costs the same with 4 channels per group (benchmarks/dfg_speed.py)
    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=latent_channels,
                         down_block_types=("DownEncoderBlock2D",) * levels,
                         up_block_types=("UpDecoderBlock2D",) * levels,
                         block_out_channels=widths, layers_per_block=1, norm_num_groups=widths[0],
                         mid_block_add_attention=False)  # no attention at full scale: a 2-core CPU trains it


def build_unet(latent_size: int = 16, latent_channels: int = 4, width: int = 32,
               context_dim: int = 64) -> UNet2DConditionModel:
    """The denoiser ε_θ(z_t, t, c): three levels, cross-attention to the identity tokens c in the two
    lower ones (as in Stable Diffusion, where c are text tokens)."""
    return UNet2DConditionModel(
        sample_size=latent_size, in_channels=latent_channels, out_channels=latent_channels, layers_per_block=1,
        block_out_channels=(width, 2 * width, 2 * width), norm_num_groups=min(16, width),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=context_dim, attention_head_dim=8)


def build_scheduler(train_steps: int = 1000) -> DDIMScheduler:
    """Stable Diffusion's noise schedule (β from 0.00085 to 0.012, 'scaled linear') with DDIM sampling."""
    return DDIMScheduler(num_train_timesteps=train_steps, beta_start=0.00085, beta_end=0.012,
                         beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1)


def autoencoder_loss(autoencoder: AutoencoderKL, images: torch.Tensor, kl_weight: float = 1e-6) -> torch.Tensor:
    """L1 reconstruction + a small KL pull of q(z|x) towards N(0, I), the LDM recipe without its
    perceptual and adversarial terms."""
    posterior = autoencoder.encode(images).latent_dist
    decoded = autoencoder.decode(posterior.sample()).sample
    return F.l1_loss(decoded, images) + kl_weight * posterior.kl().mean()


def standardise(residual: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-sample standardisation of a residual (B, C, H, W): zero mean, unit variance (the course's scaling of
    the cue before a network reads it; the paper does not say how it scales the cue)."""
    mean = residual.mean(dim=(1, 2, 3), keepdim=True)
    return (residual - mean) / (residual.std(dim=(1, 2, 3), keepdim=True) + eps)


# The cue's forms (`anomalous_cue`): AG-FAS's standardised residual; the residual on colour-opponent axes
# (luma, green/magenta, red/blue), each standardised alone so that the colour of a medium's traces is not
# drowned by the generator's error in brightness; or that opponent residual's fine band (its own Gaussian blur,
# σ = FINE_SIGMA px, taken away), where a generator that redraws the face leaves the least of its own error.
OPPONENT = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [-0.5, 1.0, -0.5], [1.0, 0.0, -1.0]])
FINE_SIGMA = 1.0
ENERGY_SIGMA = 2.0
CUE_FORMS = ("residual", "opponent", "fine", "energy")


def anomalous_cue(images: torch.Tensor, reconstructions: torch.Tensor, form: str = "residual") -> torch.Tensor:
    """The cue a network reads, (B, 3, H, W), from images and their "real" versions (both in [-1, 1]).

    ``form="residual"``: standardise(x − x̂), the paper's. ``form="opponent"``: r = x − x̂ turned to the axes
    luma (R + G + B)/3, green/magenta G − (R + B)/2 and red/blue R − B, each channel standardised over its own
    pixels (zero mean, unit variance per sample and channel). ``form="fine"``: the opponent residual minus its
    Gaussian blur (σ = ``FINE_SIGMA`` px), then standardised per channel: periods shorter than about 6 px.
    ``form="energy"``: where, and how much, fine colour detail the residual holds, without its phase or
    orientation: the standardised residual on the opponent axes, its fine band squared and blurred (σ =
    ``ENERGY_SIGMA`` px), as log10(energy + 1e-4) + 2 (about −2 to 2). A medium's fringes differ in period and
    orientation from one capture rig to the next; their local energy does not.
    """
    if form not in CUE_FORMS:
        raise ValueError(f"cue form must be one of {list(CUE_FORMS)}, got {form!r}")
    residual = images.float() - reconstructions.float()
    if form == "residual":
        return standardise(residual)
    from torchvision.transforms.functional import gaussian_blur

    if form == "energy":
        opponent = torch.einsum("oc,bchw->bohw", OPPONENT, standardise(residual))
        fine = opponent - gaussian_blur(opponent, kernel_size=7, sigma=FINE_SIGMA)
        return torch.log10(gaussian_blur(fine.pow(2), kernel_size=13, sigma=ENERGY_SIGMA) + 1e-4) + 2
    opponent = torch.einsum("oc,bchw->bohw", OPPONENT, residual)
    if form == "fine":
        opponent = opponent - gaussian_blur(opponent, kernel_size=7, sigma=FINE_SIGMA)
    mean = opponent.mean(dim=(2, 3), keepdim=True)
    return (opponent - mean) / (opponent.std(dim=(2, 3), keepdim=True) + 1e-6)


def _noise(shape, seed: int, indices, device) -> torch.Tensor:
    """ε for each sample from its own generator, seeded from (seed, index): a reconstruction does not
    depend on the batch it was computed in."""
    out = []
    for index in indices:
        generator = torch.Generator().manual_seed(derive_seed(seed, index))
        out.append(torch.randn(shape, generator=generator))
    return torch.stack(out).to(device)


class DeFakeFaceGenerator(nn.Module):
    """The DFG pipeline: autoencoder, conditional UNet, DDIM scheduler and the identity encoder
    (``None`` trains and samples without identity conditioning)."""

    def __init__(self, autoencoder: AutoencoderKL, unet: UNet2DConditionModel, scheduler: DDIMScheduler,
                 identity: IdentityEncoder | OnnxIdentityEncoder | None):
        super().__init__()
        self.autoencoder, self.unet, self.scheduler, self.identity = autoencoder, unet, scheduler, identity
        if identity is not None and identity.token_dim != unet.config.cross_attention_dim:
            raise ValueError(f"identity tokens have {identity.token_dim} channels but the UNet attends to "
                             f"{unet.config.cross_attention_dim}")

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    def _check(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W) in [-1, 1], got shape {tuple(images.shape)}")
        return images.to(self.device, torch.float32)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """z₀ = scaling_factor · E(x): the posterior mean, scaled to unit variance over the pool."""
        return self.autoencoder.encode(self._check(images)).latent_dist.mean * self.autoencoder.config.scaling_factor

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(latents / self.autoencoder.config.scaling_factor).sample.clamp(-1, 1)

    @torch.no_grad()
    def context(self, images: torch.Tensor, conditioned: bool = True) -> torch.Tensor:
        """The cross-attention context: the identity tokens of the images themselves, or the null
        context (zeros) that stands for "no identity" (also what training's condition dropout shows)."""
        images = self._check(images)
        if self.identity is None:
            return torch.zeros(len(images), 1, self.unet.config.cross_attention_dim, device=self.device)
        tokens = self.identity.features(images)[0]
        return tokens if conditioned else torch.zeros_like(tokens)

    def start_step(self, strength: float, steps: int) -> torch.Tensor:
        """The DDIM timesteps that a reconstruction at ``strength`` runs through, first = noisiest."""
        if not 0 < strength <= 1:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.scheduler.set_timesteps(steps)
        skip = steps - max(1, int(round(strength * steps)))
        return self.scheduler.timesteps[skip:]

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor, strength: float = 0.6, steps: int = 20, conditioned: bool = True,
                    seed: int = 0, batch_size: int = 64, first_index: int = 0, progress: bool = False,
                    identity_from: torch.Tensor | None = None,
                    noise_index: "np.ndarray | list[int] | None" = None) -> torch.Tensor:
        """The "real" version x̂ of each image (B, 3, H, W) in [-1, 1] (SDEdit, module docstring).

        Args:
            images: (B, 3, H, W) in [-1, 1].
            strength: the fraction of the noise schedule the input is pushed through (t ≈ strength · T).
            steps: DDIM steps spanning the whole schedule, of which strength · steps run.
            conditioned: attend to identity tokens (else the null context).
            seed: sample i's noise is drawn from (seed, first_index + i): results do not depend on ``batch_size``.
            identity_from: (B, 3, H, W) images whose identity tokens to use instead of the inputs' own (a
                diagnostic: tokens from another capture of the same person cannot carry the input's attack).
            noise_index: the index each sample's noise is drawn from, (B,) (default first_index + i): pass a
                subset's benchmark rows to reproduce `benchmark_reconstructions` of those rows exactly.
        """
        if noise_index is not None and len(noise_index) != len(images):
            raise ValueError(f"noise_index needs one index per image ({len(images)}), got {len(noise_index)}")
        if identity_from is not None and tuple(identity_from.shape) != tuple(images.shape):
            raise ValueError(f"identity_from must have the images' shape {tuple(images.shape)}, "
                             f"got {tuple(identity_from.shape)}")
        timesteps = self.start_step(strength, steps)
        out = []
        for start in tqdm(range(0, len(images), batch_size), desc=f"reconstructing (strength {strength})",
                          disable=not progress, unit="batch"):
            batch = self._check(images[start:start + batch_size])
            latents = self.encode(batch)
            source = batch if identity_from is None else self._check(identity_from[start:start + batch_size])
            context = self.context(source, conditioned)
            indices = (range(first_index + start, first_index + start + len(batch)) if noise_index is None
                       else [int(i) for i in noise_index[start:start + len(batch)]])
            z = self.scheduler.add_noise(latents, _noise(latents.shape[1:], seed, indices, self.device),
                                         timesteps[:1].repeat(len(batch)))
            for t in timesteps:
                epsilon = self.unet(z, t, encoder_hidden_states=context).sample
                z = self.scheduler.step(epsilon, t, z).prev_sample
            out.append(self.decode(z).cpu())
        return torch.cat(out)

    def residual(self, images: torch.Tensor, **reconstruct_options: Any) -> torch.Tensor:
        """The anomalous cue x − x̂ in [-1, 1] units (not standardised; see `standardise`)."""
        return images.cpu().float() - self.reconstruct(images, **reconstruct_options)

    def diffusion_loss(self, latents: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """ε-prediction loss of Eq. 1 at uniformly drawn steps t (torch's global generator)."""
        noise = torch.randn_like(latents)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (len(latents),), device=latents.device)
        return F.mse_loss(self.unet(self.scheduler.add_noise(latents, noise, t), t,
                                    encoder_hidden_states=context).sample, noise)

    def save_pretrained(self, folder: str | Path) -> Path:
        """One sub-folder per part, in diffusers' layout (config JSON + safetensors weights)."""
        folder = Path(folder)
        self.autoencoder.save_pretrained(folder / "autoencoder")
        self.unet.save_pretrained(folder / "unet")
        self.scheduler.save_pretrained(folder / "scheduler")
        if self.identity is not None:
            (folder / "identity").mkdir(parents=True, exist_ok=True)
            if isinstance(self.identity, OnnxIdentityEncoder):  # the graph itself, as given
                config = {**self.identity.config, "onnx": "model.onnx"}
                shutil.copyfile(self.identity.path, folder / "identity" / "model.onnx")
            else:
                config = self.identity.config
                save_checkpoint(folder / "identity" / "model.safetensors", self.identity)
            (folder / "identity" / "config.json").write_text(json.dumps(config, indent=1))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, sha256: dict | None = None) -> "DeFakeFaceGenerator":
        """Load a folder written by `save_pretrained` (never a download). ``sha256`` maps file paths
        relative to the folder to their expected digests; each is checked before anything is read."""
        folder = Path(folder)
        missing = [p for p in ("autoencoder", "unet", "scheduler") if not (folder / p).is_dir()]
        if missing:
            raise FileNotFoundError(f"{folder} is not a DFG folder: it lacks {missing} (expected {list(PARTS)}, "
                                    "as written by DeFakeFaceGenerator.save_pretrained)")
        if sha256:
            from faslearn.checkpoints import file_sha256
            for relative, digest in sha256.items():
                actual = file_sha256(folder / relative)
                if actual != digest:
                    raise ValueError(f"sha256 mismatch for {folder / relative}: expected {digest}, got {actual}")
        autoencoder = AutoencoderKL.from_pretrained(folder / "autoencoder", use_safetensors=True)
        unet = UNet2DConditionModel.from_pretrained(folder / "unet", use_safetensors=True)
        scheduler = DDIMScheduler.from_pretrained(folder / "scheduler")
        return cls(autoencoder, unet, scheduler, load_identity_encoder(folder / "identity")).eval()


def load_identity_encoder(folder: str | Path) -> IdentityEncoder | OnnxIdentityEncoder | None:
    """The identity encoder saved in ``folder`` (config.json + model.safetensors, or + model.onnx), a
    face-recognition network given as a ``.onnx`` file itself, or ``None`` where there is no such folder (a
    DFG without identity conditioning)."""
    folder = Path(folder)
    if folder.suffix == ".onnx":
        return OnnxIdentityEncoder(folder)
    if not folder.is_dir():
        return None
    config = json.loads((folder / "config.json").read_text())
    if "onnx" in config:
        return OnnxIdentityEncoder(folder / config["onnx"], bgr=config["bgr"])
    identity = IdentityEncoder(**config)
    load_weights(identity, folder / "model.safetensors")
    return identity


# --- training: the autoencoder first, then the UNet on frozen latents and identity tokens --------------

def to_model_range(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, S, S, 3) → float (N, 3, S, S) in [-1, 1], the range the DFG works in."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, S, S, 3), got {images.dtype} {images.shape}")
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def train_autoencoder(images: np.ndarray, *, steps: int = 2000, batch_size: int = 16, lr: float = 1e-3,
                      width: int = 32, latent_channels: int = 4, downsample: int = 4, kl_weight: float = 1e-6,
                      seed: int = 0, device: str | None = None, mixed_precision: str = "no",
                      checkpoint_dir: str | Path | None = None, progress: bool = True) -> AutoencoderKL:
    """Train `build_autoencoder` on bona fide ``images`` (uint8), then set its ``scaling_factor`` to
    1 / std of the pool's latents so that z₀ has unit variance, as diffusion assumes. The loss of every
    step is kept in its ``train_loss``."""
    from faslearn.train import fit_steps
    from faslearn.utils import seed_everything

    seed_everything(seed)
    autoencoder = build_autoencoder(width, latent_channels, downsample)
    pixels = to_model_range(images)

    def draw(rng):  # a batch, flipped left-right at random (faces are roughly symmetric)
        batch = pixels[rng.integers(0, len(pixels), batch_size)]
        flip = torch.from_numpy(rng.random(batch_size) < 0.5)
        return torch.where(flip[:, None, None, None], batch.flip(-1), batch)

    result = fit_steps(autoencoder, draw,
                       lambda model, batch: autoencoder_loss(model, batch.to(_device_of(model)), kl_weight),
                       steps=steps, lr=lr, device=device, mixed_precision=mixed_precision,
                       checkpoint_dir=checkpoint_dir, seed=seed, progress=progress, desc="autoencoder")
    autoencoder.train_loss = result["loss"]
    with torch.no_grad():
        latents = torch.cat([autoencoder.encode(pixels[i:i + 256].to(_device_of(autoencoder))).latent_dist.mean.cpu()
                             for i in range(0, min(len(pixels), 2048), 256)])
    autoencoder.register_to_config(scaling_factor=float(1 / latents.std()))
    return autoencoder


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def train_unet(dfg: DeFakeFaceGenerator, images: np.ndarray, *, steps: int = 4000, batch_size: int = 32,
               lr: float = 5e-4, weight_decay: float = 0.01, ema_decay: float | None = 0.999, warmup: int = 200,
               condition_dropout: float = 0.15, seed: int = 0, device: str | None = None,
               mixed_precision: str = "no", checkpoint_dir: str | Path | None = None,
               progress: bool = True) -> DeFakeFaceGenerator:
    """Train ``dfg.unet`` on bona fide ``images`` (uint8) with the autoencoder and identity encoder frozen
    (as in the paper): latents and identity tokens are computed once, then batches are drawn from them.

    ``condition_dropout``: the share of samples trained with the null context instead of their identity
    tokens, so that one model can also reconstruct *without* identity conditioning (classifier-free
    guidance's trick), to compare the two. The loss of every step is kept in
    ``dfg.unet.train_loss``."""
    from faslearn.train import fit_steps

    if not 0 <= condition_dropout < 1:
        raise ValueError(f"condition_dropout must be in [0, 1), got {condition_dropout}")
    pixels = to_model_range(images)
    latents = torch.cat([dfg.encode(pixels[i:i + 256]).cpu() for i in range(0, len(pixels), 256)])
    contexts = torch.cat([dfg.context(pixels[i:i + 256]).cpu() for i in range(0, len(pixels), 256)])
    null = dfg.context(pixels[:1], conditioned=False).cpu()

    def draw(rng):
        index = rng.integers(0, len(latents), batch_size)
        drop = torch.from_numpy(rng.random(batch_size) < condition_dropout)
        return latents[index], torch.where(drop[:, None, None], null, contexts[index])

    def loss(unet, batch):
        device = _device_of(unet)
        return dfg.diffusion_loss(batch[0].to(device), batch[1].to(device))

    dfg.autoencoder.requires_grad_(False)
    if dfg.identity is not None:
        dfg.identity.requires_grad_(False)
    result = fit_steps(dfg.unet, draw, loss, steps=steps, lr=lr, weight_decay=weight_decay, ema_decay=ema_decay,
                       warmup=warmup, device=device, mixed_precision=mixed_precision, checkpoint_dir=checkpoint_dir,
                       seed=seed, progress=progress, desc="unet")
    dfg.unet.train_loss = result["loss"]
    return dfg.eval()


def residual_energy(residual: torch.Tensor) -> np.ndarray:
    """Mean squared residual per sample, (B,): how far an input lies from its "real" version. As a
    liveness score, −energy (higher = bona fide)."""
    return residual.float().pow(2).mean(dim=(1, 2, 3)).numpy()


def benchmark_reconstructions(dfg: DeFakeFaceGenerator, benchmark: "Benchmark", strength: float = 0.6, steps: int = 20,
                              conditioned: bool = True, seed: int = 0, cache: bool = True,
                              progress: bool = True) -> np.ndarray:
    """x̂ of the first frame of every presentation of ``benchmark``, (N, 3, S, S) float16 in [-1, 1], computed
    once and then loaded from the disk cache in seconds. The cache key covers the DFG's weights, these
    settings and the benchmark's own key; the residual is ``to_model_range(frames) − x̂``."""
    digest = hashlib.sha256(json.dumps([strength, steps, conditioned, seed, benchmark.config.key()]).encode())
    for name, tensor in sorted(dfg.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().float().numpy().tobytes())

    def reconstruct() -> dict:
        x_hat = dfg.reconstruct(to_model_range(benchmark.frames[:, 0]), strength=strength, steps=steps,
                                conditioned=conditioned, seed=seed, progress=progress)
        return {"reconstructions": x_hat.numpy().astype(np.float16)}

    return cached(f"dfg-reconstructions-{digest.hexdigest()[:16]}", reconstruct, cache)["reconstructions"]


CUE_SOURCES = ("dfg", "autoencoder", "input", "zero")


def benchmark_cues(dfg: DeFakeFaceGenerator, benchmark: "Benchmark", source: str = "dfg", form: str = "residual",
                   strength: float = 0.6, steps: int = 20, conditioned: bool = True, seed: int = 0,
                   cache: bool = True, progress: bool = True) -> np.ndarray:
    """The anomalous cue of the first frame of every presentation of ``benchmark``, (N, 3, S, S) float16, computed
    once (the reconstructions are cached on disk, as AG-FAS precomputes them) and indexed by benchmark row.

    Args:
        dfg: the generator (its autoencoder serves ``source="autoencoder"``).
        benchmark: whose rows to compute the cue of.
        source: "dfg" (x̂ = the DFG's reconstruction), "autoencoder" (x̂ = D(E(x)), no diffusion), "input"
            (x̂ = 0: the cue of the image itself, no generator at all), or "zero" (an all-zero cue: what OA-Net
            learns with no information in its cue).
        form: `anomalous_cue`'s.
        strength, steps, conditioned, seed: the DFG's reconstruction settings (`DeFakeFaceGenerator.reconstruct`).
    """
    if source not in CUE_SOURCES:
        raise ValueError(f"cue source must be one of {list(CUE_SOURCES)}, got {source!r}")
    images = to_model_range(benchmark.frames[:, 0])
    if source == "zero":
        return np.zeros(images.shape, np.float16)
    if source == "dfg":  # the reconstructions are cached on disk
        x_hat = torch.from_numpy(benchmark_reconstructions(dfg, benchmark, strength, steps, conditioned, seed, cache,
                                                           progress).astype(np.float32))
    else:
        x_hat = cue_reference(dfg, images, source)
    return anomalous_cue(images, x_hat, form).numpy().astype(np.float16)


def cue_reference(dfg: DeFakeFaceGenerator, images: torch.Tensor, source: str = "dfg",
                  **reconstruct_options: Any) -> torch.Tensor:
    """x̂, what a cue of ``source`` (`CUE_SOURCES` but "zero") subtracts from images (B, 3, H, W) in [-1, 1]:
    the DFG's reconstruction (``reconstruct_options`` as `DeFakeFaceGenerator.reconstruct`'s), its autoencoder's
    D(E(x)), or zeros ("input": the image itself)."""
    if source == "dfg":
        return dfg.reconstruct(images, **reconstruct_options)
    if source == "autoencoder":
        return torch.cat([dfg.decode(dfg.encode(images[i:i + 256])).cpu() for i in range(0, len(images), 256)])
    if source == "input":
        return torch.zeros_like(images)
    raise ValueError(f"a cue reference comes from 'dfg', 'autoencoder' or 'input', got {source!r}")
