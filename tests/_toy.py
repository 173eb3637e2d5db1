"""A toy anti-spoofing task for the training-loop tests, importable by subprocesses.

Images are 3×8×8 Gaussian noise whose mean brightness gives the class away: bona fide samples
are brighter (+0.15) than attacks (-0.15). Averaged over 192 pixels of unit noise the two classes
lie 0.3 / (1/√192) ≈ 4 standard deviations apart, so a tiny CNN learns them in a few epochs.
"""
import os
import sys

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from faslearn.train import fit


class ToyFaces(Dataset):
    """``n`` samples as the package's datasets return them: image, label, pai, video."""

    def __init__(self, n: int = 128, seed: int = 0, noise: float = 1.0):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 2, (n,), generator=g)
        brightness = 0.3 * self.labels.float() - 0.15
        self.images = brightness[:, None, None, None] + noise * torch.randn(n, 3, 8, 8, generator=g)
        self.pai = ["bona_fide" if y else ("print", "replay")[i % 2]
                    for i, y in enumerate(self.labels.tolist())]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"image": self.images[i], "label": int(self.labels[i]), "pai": self.pai[i],
                "video": f"v{i // 4}"}


def tiny_net() -> nn.Module:
    """Conv, BatchNorm, dropout: every kind of state and randomness a resume must restore."""
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(4, 1))


def loss_fn(outputs, batch):
    return nn.functional.binary_cross_entropy_with_logits(outputs[:, 0], batch["label"].float())


def score_fn(outputs, batch):
    return outputs[:, 0]


def loaders(batch_size: int = 16):
    train = DataLoader(ToyFaces(96, seed=1), batch_size=batch_size, shuffle=True)
    dev = DataLoader(ToyFaces(60, seed=2), batch_size=batch_size)
    test = DataLoader(ToyFaces(64, seed=3), batch_size=batch_size)
    return train, dev, test


def train_toy(checkpoint_dir, epochs: int = 4, crash_after: int | None = None, **kwargs):
    """Train the toy model; with ``crash_after`` the process dies (no cleanup) after that epoch."""
    def crash(record):
        if record["epoch"] == crash_after:
            sys.stdout.flush()
            os._exit(1)

    torch.manual_seed(0)
    model = tiny_net()
    train, dev, test = loaders()
    history = fit(model, train, dev, loss_fn=loss_fn, score_fn=score_fn, epochs=epochs, lr=0.05,
                  device="cpu", checkpoint_dir=checkpoint_dir, test_loaders={"test": test},
                  progress=False, on_epoch_end=crash, **kwargs)
    return model, history


if __name__ == "__main__":  # python _toy.py CHECKPOINT_DIR [CRASH_AFTER]
    train_toy(sys.argv[1], crash_after=int(sys.argv[2]) if len(sys.argv) > 2 else None)
