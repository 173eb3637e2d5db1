"""Masked image modelling (faslearn.models.mim) and starting a ViT from a pre-trained file."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from faslearn.checkpoints import save_checkpoint
from faslearn.models import MaskedImageModel, ViT, load_pretrained_vit

SMALL = dict(image_size=32, patch_size=8, width=32, depth=1, heads=2)
REPO = Path(__file__).resolve().parent.parent


def smooth_faces(n=8, seed=0):
    """Images whose hidden patches can be told from their neighbours: smooth colour gradients, (n, 3, 32, 32)."""
    x = torch.randn(n, 3, 2, 2, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(x, size=32, mode="bilinear", align_corners=True).tanh()


def test_the_mask_hides_the_same_share_of_patches_in_every_image():
    model = MaskedImageModel(ViT(**SMALL), mask_ratio=0.6)
    mask = model.random_mask(5, torch.Generator().manual_seed(0))
    assert mask.shape == (5, 16) and (mask.sum(dim=1) == round(0.6 * 16)).all()
    assert not torch.equal(mask[0], mask[1])  # each image its own draw


def test_patches_follow_the_token_order_row_by_row():
    model = MaskedImageModel(ViT(**SMALL))
    images = torch.arange(3 * 32 * 32, dtype=torch.float32).view(1, 3, 32, 32)
    patches = model.patches(images)
    assert patches.shape == (1, 16, 3 * 64)
    torch.testing.assert_close(patches[0, 1].view(3, 8, 8), images[0, :, 0:8, 8:16])  # token 1: row 0, column 1
    torch.testing.assert_close(patches[0, 4].view(3, 8, 8), images[0, :, 8:16, 0:8])  # token 4: row 1, column 0


def test_the_loss_reads_only_the_hidden_patches_and_the_model_cannot_see_them():
    torch.manual_seed(0)
    model = MaskedImageModel(ViT(**SMALL)).eval()
    images = smooth_faces(2)
    mask = model.random_mask(2, torch.Generator().manual_seed(1))
    changed = images.clone()
    side = torch.nn.functional.interpolate(mask.view(2, 1, 4, 4).float(), scale_factor=8)
    changed += 0.5 * side * torch.randn_like(images)  # the hidden pixels only
    with torch.no_grad():
        base, other = model(images, mask), model(changed, mask)
        # the prediction did not change (the hidden pixels never reach the ViT), only the target did
        assert base != other
        visible_changed = images + 0.5 * (1 - side) * torch.randn_like(images)
        assert model(visible_changed, mask) != base  # visible pixels are the model's input


def test_masked_image_modelling_learns_and_its_vit_starts_a_fine_tuning_run(tmp_path):
    torch.manual_seed(0)
    model = MaskedImageModel(ViT(**SMALL))
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    images, losses = smooth_faces(32), []
    for step in range(100):
        loss = model(images, model.random_mask(32, torch.Generator().manual_seed(step)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    # filled in better than by the mean pixel (0), the best guess of a model that saw nothing
    hidden_mean_abs = images.abs().mean().item()
    assert sum(losses[-10:]) / 10 < 0.6 * hidden_mean_abs  # measured: 0.18 against 0.42
    save_checkpoint(tmp_path / "vit.safetensors", model.vit)
    fresh = ViT(**SMALL)
    load_pretrained_vit(fresh, tmp_path / "vit.safetensors")
    with torch.no_grad():
        torch.testing.assert_close(fresh.eval().features(images), model.vit.eval().features(images))
    with pytest.raises(ValueError, match="does not fit this ViT"):
        load_pretrained_vit(ViT(**{**SMALL, "width": 64}), tmp_path / "vit.safetensors")
    save_file({"weight": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="holds no ViT"):
        load_pretrained_vit(fresh, tmp_path / "other.safetensors")


def test_a_mask_ratio_must_leave_something_visible():
    with pytest.raises(ValueError, match="mask_ratio must leave some patches visible"):
        MaskedImageModel(ViT(**SMALL), mask_ratio=1.0)
    with pytest.raises(ValueError, match="mask_ratio must be"):
        MaskedImageModel(ViT(**SMALL), mask_ratio=0)


def test_the_pretraining_script_writes_a_vit_that_loads(tmp_path):
    out = tmp_path / "mim"
    subprocess.run([sys.executable, str(REPO / "scripts" / "pretrain_vit.py"), "--out", str(out), "--steps", "3",
                    "--batch-size", "4", "--pool-identities", "4", "--threads", "1"], check=True, capture_output=True,
                   timeout=300)
    vit = ViT(image_size=64, patch_size=8, width=96, depth=4, heads=4, stem="conv")
    load_pretrained_vit(vit, out / "vit.safetensors")
    assert (out / "pretrain.json").is_file()
