"""Pre-training the course's ViT without labels: masked image modelling on real faces (SimMIM; Xie et al., "SimMIM:
A Simple Framework for Masked Image Modeling", arXiv 2111.09886).

The foundation-model idea in miniature: learn what faces look like from plentiful unlabelled real faces first, then
fine-tune on the few labelled presentations; AG-FAS makes the same bet with its De-fake Face Generator. The data is
the bona fide pool (`faslearn.data.make_pool`: people outside every dev and test split, under wild capture
conditions), never a target domain's frames, so a leave-one-domain-out test stays unseen.

    x (B, 3, S, S) ──hide a random 60 % of the P × P patches (set to 0, mid-grey)──> x̃
    x̃ ──ViT──> one token per patch ──Linear──> P·P·3 pixel values per patch
    L = mean over the hidden patches of |prediction − x|  (L1, the hidden pixels only)

The pixels are hidden before the ViT's stem, so a convolutional stem (the course's) cannot see through the mask
into a hidden patch. After pre-training, the ViT's weights (its head left out) start a fine-tuning run:
``train_oanet.ipynb`` with ``pretrained_vit`` = the saved file (`load_pretrained_vit` reads it).
"""
import torch
from torch import nn
from torch.nn import functional as F

from faslearn.models.oanet import ViT
from faslearn.utils import check_number


class MaskedImageModel(nn.Module):
    """A ViT and a linear pixel head, trained to fill in hidden patches.

    Args:
        vit: the encoder to pre-train (its classifier ``head`` is not used).
        mask_ratio: the share of patches hidden in every image (SimMIM: 0.6).
    """

    def __init__(self, vit: ViT, mask_ratio: float = 0.6):
        super().__init__()
        check_number(mask_ratio, "mask_ratio", above=0, high=1)
        if mask_ratio == 1:
            raise ValueError("mask_ratio must leave some patches visible, got 1")
        self.vit, self.mask_ratio, self.patch = vit, mask_ratio, vit.patch_size
        self.pixels = nn.Linear(vit.pos_embed.shape[-1], 3 * self.patch ** 2)

    def random_mask(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, N) bool, True = hidden: exactly round(mask_ratio · N) patches of each image, drawn uniformly."""
        n = (self.vit.image_size // self.patch) ** 2
        hidden = round(self.mask_ratio * n)
        order = torch.rand(batch, n, generator=generator).argsort(dim=1)  # a random permutation per image
        return torch.zeros(batch, n, dtype=torch.bool).scatter_(1, order[:, :hidden], True)

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) → (B, N, P·P·3), patches in the ViT's token order (row by row)."""
        return F.unfold(images, self.patch, stride=self.patch).transpose(1, 2)

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The L1 error on the hidden patches of ``images`` (B, 3, S, S) under ``mask`` (B, N)."""
        side = self.vit.image_size // self.patch
        pixel_mask = mask.view(-1, 1, side, side).float()
        pixel_mask = F.interpolate(pixel_mask, scale_factor=self.patch, mode="nearest")
        hidden = images * (1 - pixel_mask)  # hidden pixels set to 0 before the stem
        tokens = self.vit.tokens(hidden)
        for block in self.vit.blocks:
            tokens = block(tokens)
        prediction = self.pixels(self.vit.norm(tokens[:, 1:]))  # (B, N, P·P·3), the CLS token left out
        error = (prediction - self.patches(images)).abs().mean(dim=2)  # (B, N)
        return (error * mask).sum() / mask.sum()
