"""The De-fake Face Generator: diffusers parts assembled, SDEdit reconstruction, save/load from local
folders (never a download), the residual cue, and the bona fide pool it trains on (CPU, seconds)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL

from faslearn.checkpoints import file_sha256
from faslearn.data import BenchmarkConfig, plan_benchmark
from faslearn.data.world.pool import make_pool, pool_identities, wild_domain
from faslearn.models import dfg as D
from faslearn.models.identity import IdentityEncoder
from faslearn.utils import seed_everything

SMALL = BenchmarkConfig(identities_per_domain=5)


def tiny_dfg(conditioned=True) -> D.DeFakeFaceGenerator:
    """Untrained parts at 32 px, latents scaled to unit variance as training would scale them."""
    seed_everything(0)
    identity = IdentityEncoder(width=8, embedding_dim=16, token_dim=16).eval() if conditioned else None
    autoencoder = D.build_autoencoder(width=8)
    autoencoder.register_to_config(scaling_factor=5.0)  # ≈ 1 / std of its latents on these faces
    return D.DeFakeFaceGenerator(autoencoder, D.build_unet(latent_size=8, width=8, context_dim=16),
                                 D.build_scheduler(), identity).eval()


@pytest.fixture(scope="module")
def faces():
    """Bona fide views at 32 px, in [-1, 1]: 4 people x 2 views."""
    pool = make_pool(identities=4, views_per_identity=2, image_size=32, benchmark=SMALL, cache=False, progress=False)
    return D.to_model_range(pool.images)


def test_parts_have_the_shapes_of_a_latent_diffusion_model(faces):
    dfg = tiny_dfg()
    latents = dfg.encode(faces)
    assert latents.shape == (8, 4, 8, 8)  # 32 px / downsample 4
    assert 0.3 < float(latents.std()) < 3
    assert dfg.context(faces).shape == (8, 4, 16)  # (32 / 16)^2 identity tokens of 16 channels
    null = dfg.context(faces, conditioned=False)
    assert null.shape == (8, 4, 16) and not null.any()
    assert dfg.decode(latents).shape == faces.shape
    with pytest.raises(ValueError, match="power of two"):
        D.build_autoencoder(downsample=3)
    with pytest.raises(ValueError, match="identity tokens have 16 channels"):
        D.DeFakeFaceGenerator(D.build_autoencoder(width=8), D.build_unet(8, width=8, context_dim=32),
                              D.build_scheduler(), IdentityEncoder(width=8, token_dim=16))


def test_strength_sets_how_far_the_input_is_noised():
    dfg = tiny_dfg()
    assert len(dfg.start_step(0.5, 20)) == 10
    assert len(dfg.start_step(1.0, 20)) == 20
    assert dfg.start_step(0.8, 50)[0] == 781  # strength 0.8 of T = 1000, on a 50-step DDIM grid
    for strength in (0.0, 1.5):
        with pytest.raises(ValueError, match="strength must be in"):
            dfg.start_step(strength, 20)


def test_reconstruction_is_deterministic_and_independent_of_the_batch(faces):
    dfg = tiny_dfg()
    whole = dfg.reconstruct(faces, strength=0.5, steps=8, seed=3, batch_size=8)
    pieces = dfg.reconstruct(faces, strength=0.5, steps=8, seed=3, batch_size=3)
    assert whole.shape == faces.shape and whole.min() >= -1 and whole.max() <= 1
    torch.testing.assert_close(whole, pieces, atol=1e-5, rtol=0)
    assert not torch.equal(whole, dfg.reconstruct(faces, strength=0.5, steps=8, seed=4))
    with pytest.raises(ValueError, match=r"expected images \(B, 3, H, W\)"):
        dfg.reconstruct(faces[:, :1])


def test_small_strength_returns_the_autoencoders_reconstruction(faces):
    """Theorem 1's limit: noised by one step, any ε model gives back (almost) the clean latent,
    so x̂ ≈ D(E(x)); noised all the way, the input is lost."""
    dfg = tiny_dfg()
    autoencoded = dfg.decode(dfg.encode(faces))
    near = (dfg.reconstruct(faces, strength=1 / 20, steps=20) - autoencoded).abs().mean()
    far = (dfg.reconstruct(faces, strength=1.0, steps=20) - autoencoded).abs().mean()
    assert near < 0.2 * far


def test_residual_and_its_standardised_form(faces):
    dfg = tiny_dfg(conditioned=False)
    residual = dfg.residual(faces, strength=0.3, steps=5)
    assert residual.shape == faces.shape
    standard = D.standardise(residual)
    torch.testing.assert_close(standard.mean(dim=(1, 2, 3)), torch.zeros(len(faces)), atol=1e-5, rtol=0)
    torch.testing.assert_close(standard.std(dim=(1, 2, 3)), torch.ones(len(faces)), atol=1e-3, rtol=0)
    energy = D.residual_energy(residual)
    assert energy.shape == (8,) and np.allclose(energy, residual.pow(2).mean(dim=(1, 2, 3)).numpy())


def test_save_and_load_a_folder_exactly_and_check_its_digests(tmp_path, faces):
    dfg = tiny_dfg()
    folder = dfg.save_pretrained(tmp_path / "dfg")
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert "unet/diffusion_pytorch_model.safetensors" in files and "identity/model.safetensors" in files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pkl"))]  # safetensors only, no pickle
    loaded = D.DeFakeFaceGenerator.from_pretrained(folder, sha256={f: file_sha256(folder / f) for f in files})
    expected = dfg.reconstruct(faces, strength=0.4, steps=5)
    torch.testing.assert_close(loaded.reconstruct(faces, strength=0.4, steps=5), expected, atol=0, rtol=0)

    digests = {f: file_sha256(folder / f) for f in files}
    (folder / "unet" / "config.json").write_text((folder / "unet" / "config.json").read_text() + " ")
    with pytest.raises(ValueError, match="sha256 mismatch for .*unet/config.json"):
        D.DeFakeFaceGenerator.from_pretrained(folder, sha256=digests)
    with pytest.raises(FileNotFoundError, match=r"lacks \['autoencoder', 'unet', 'scheduler'\]"):
        D.DeFakeFaceGenerator.from_pretrained(folder / "autoencoder")


def test_a_pretrained_autoencoder_loads_from_a_local_folder(tmp_path, faces):
    """The full-scale path: a diffusers AutoencoderKL folder (e.g. Stable Diffusion's VAE, copied by hand)."""
    seed_everything(1)
    written = D.build_autoencoder(width=8)
    written.save_pretrained(tmp_path / "vae")
    loaded = AutoencoderKL.from_pretrained(tmp_path / "vae", use_safetensors=True)
    torch.testing.assert_close(loaded.encode(faces).latent_dist.mean, written.encode(faces).latent_dist.mean)
    assert json.loads((tmp_path / "vae" / "config.json").read_text())["_class_name"] == "AutoencoderKL"


@pytest.mark.slow
def test_training_lowers_both_losses_and_scales_latents_to_unit_variance(faces):
    images = ((faces.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().astype(np.uint8)
    autoencoder = D.train_autoencoder(images, steps=40, batch_size=8, width=8, lr=3e-3, progress=False)
    assert np.mean(autoencoder.train_loss[-5:]) < 0.7 * np.mean(autoencoder.train_loss[:5])
    dfg = D.DeFakeFaceGenerator(autoencoder, D.build_unet(8, width=8, context_dim=16), D.build_scheduler(),
                                IdentityEncoder(width=8, embedding_dim=16, token_dim=16).eval())
    latents = dfg.encode(faces)
    assert 0.5 < float(latents.std()) < 2.0  # scaling_factor = 1 / std over the training images
    D.train_unet(dfg, images, steps=60, batch_size=8, lr=2e-3, warmup=5, ema_decay=None, progress=False)
    loss = dfg.unet.train_loss
    assert len(loss) == 60 and np.mean(loss[-15:]) < np.mean(loss[:5])
    with pytest.raises(ValueError, match="condition_dropout"):
        D.train_unet(dfg, images, steps=1, condition_dropout=1.0)


def test_pool_holds_live_views_of_people_outside_dev_and_test():
    eligible = set(pool_identities(SMALL).tolist())
    _, rows = plan_benchmark(SMALL)
    assert not eligible & {r["identity"] for r in rows if r["split"] != "train"}
    assert {r["identity"] for r in rows if r["split"] == "train"} <= eligible
    assert len(eligible) == 800 - 4 * 2  # 5 people per domain: 3 train, 1 dev, 1 test

    pool = make_pool(identities=3, views_per_identity=2, image_size=32, benchmark=SMALL, cache=False, progress=False)
    assert pool.images.shape == (6, 32, 32, 3) and pool.images.dtype == np.uint8
    assert len(pool.people()) == 3 and set(pool.people()) <= eligible
    assert np.all(pool.identity[::2] == pool.identity[1::2])
    assert np.abs(pool.images[0].astype(int) - pool.images[1]).mean() > 5  # two captures, not one image twice
    again = make_pool(identities=3, views_per_identity=2, image_size=32, benchmark=SMALL, cache=False, progress=False)
    assert np.array_equal(pool.images, again.images)
    with pytest.raises(ValueError, match="at most 792 people"):
        make_pool(identities=900, benchmark=SMALL, cache=False)


def test_wild_domains_vary_beyond_the_benchmark_cameras():
    rng = np.random.default_rng(0)
    cameras = [wild_domain(rng).camera for _ in range(200)]
    from faslearn.data import DOMAINS
    blur = [c.blur for c in cameras]
    benchmark_blur = [d.camera.blur for d in DOMAINS.values()]
    assert min(blur) < min(benchmark_blur) and max(blur) > max(benchmark_blur)
    assert len({c.jpeg_quality for c in cameras}) > 20


def test_benchmark_reconstructions_are_cached_on_disk(tmp_path, monkeypatch):
    from faslearn.data import make_benchmark

    monkeypatch.setenv("FASLEARN_CACHE", str(tmp_path))
    bench = make_benchmark(identities_per_domain=3, image_size=32, domains=("studio",), progress=False)
    dfg = tiny_dfg()
    first = D.benchmark_reconstructions(dfg, bench, strength=0.3, steps=4, progress=False)
    assert first.shape == (len(bench), 3, 32, 32) and first.dtype == np.float16
    files = list(tmp_path.glob("dfg-reconstructions-*.npz"))
    assert len(files) == 1
    again = D.benchmark_reconstructions(dfg, bench, strength=0.3, steps=4, progress=False)
    assert np.array_equal(first, again) and list(tmp_path.glob("dfg-reconstructions-*.npz")) == files
    D.benchmark_reconstructions(dfg, bench, strength=0.5, steps=4, progress=False)
    with torch.no_grad():
        dfg.unet.conv_out.bias.add_(0.1)  # other weights: another cache entry
    D.benchmark_reconstructions(dfg, bench, strength=0.3, steps=4, progress=False)
    assert len(list(tmp_path.glob("dfg-reconstructions-*.npz"))) == 3


def test_importing_faslearn_leaves_diffusers_until_the_dfg_is_used():
    code = ("import sys, faslearn as fl; assert 'diffusers' not in sys.modules; "
            "assert fl.models.DeFakeFaceGenerator.__module__ == 'faslearn.models.dfg'; "
            "assert fl.models.dfg.standardise is fl.models.standardise; assert 'diffusers' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_a_dfg_conditioned_on_an_onnx_arcface_saves_the_graph_and_loads_it_back(tmp_path, faces):
    """The full-scale identity path: a real ArcFace from a local ONNX file; its embedding is the one token."""
    from _onnx_face import write_tiny_face_onnx

    from faslearn.models.identity import OnnxIdentityEncoder

    write_tiny_face_onnx(tmp_path / "arcface.onnx", size=32, dim=16)
    seed_everything(0)
    parts = tiny_dfg()
    dfg = D.DeFakeFaceGenerator(parts.autoencoder, parts.unet, parts.scheduler,
                                OnnxIdentityEncoder(tmp_path / "arcface.onnx"))
    expected = dfg.reconstruct(faces, strength=0.4, steps=5)
    assert not torch.equal(expected, dfg.reconstruct(faces, strength=0.4, steps=5, conditioned=False))
    folder = dfg.save_pretrained(tmp_path / "dfg")
    assert json.loads((folder / "identity" / "config.json").read_text()) == {"onnx": "model.onnx", "bgr": False}
    assert file_sha256(folder / "identity" / "model.onnx") == file_sha256(tmp_path / "arcface.onnx")
    loaded = D.DeFakeFaceGenerator.from_pretrained(folder)
    assert isinstance(loaded.identity, OnnxIdentityEncoder)
    torch.testing.assert_close(loaded.reconstruct(faces, strength=0.4, steps=5), expected, atol=0, rtol=0)
