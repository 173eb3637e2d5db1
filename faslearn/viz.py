"""Figures the course draws more than once: image grids, spectra, score histograms, result bars."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from .metrics import pad_metrics

BONA_FIDE_COLOUR, ATTACK_COLOUR = "tab:green", "tab:red"


def show_images(images: np.ndarray | list, titles: list[str] | None = None, ncols: int | None = None,
                size: float = 1.6, cmap: str | None = None, suptitle: str | None = None) -> Figure:
    """A grid of images (uint8 RGB, or 2D maps drawn with ``cmap``), one optional title each."""
    images = list(images)
    ncols = ncols or len(images)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, image in enumerate(images):
        ax = axes.ravel()[i]
        ax.imshow(image, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def log_spectrum(images: np.ndarray) -> np.ndarray:
    """Mean log-magnitude Fourier spectrum of grayscale versions of (N, H, W, 3) images, centred.

    Periodic structure (halftone dots, screen pixels and the moiré they make with the sensor)
    shows up as bright off-centre peaks; natural images fall off smoothly from the centre.
    """
    gray = np.asarray(images, dtype=np.float32).mean(axis=-1)
    gray = gray - gray.mean(axis=(-2, -1), keepdims=True)
    window = np.outer(np.hanning(gray.shape[-2]), np.hanning(gray.shape[-1]))  # no edge artefacts
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(gray * window), axes=(-2, -1)))
    return np.log1p(spectrum).reshape(-1, *gray.shape[-2:]).mean(axis=0)


def radial_power_spectrum(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of (N, H, W, 3) images (or (N, H, W) gray), mean over images.

    Each image is made gray, its mean removed and a Hann window applied; its power |FFT|² is
    averaged over rings of width 1/max(H, W) around the zero frequency. Returns ``(frequency,
    power)``: the ring radii in cycles per pixel (zero frequency left out) and the mean power in
    each ring. 0.5 cycles per pixel is the Nyquist frequency of either axis; rings beyond it
    hold only diagonal frequencies (the corners of the spectrum).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images.mean(axis=-1)
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W, 3) or (N, H, W), got shape {images.shape}")
    height, width = images.shape[1:]
    gray = images - images.mean(axis=(1, 2), keepdims=True)
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    power = (np.abs(np.fft.fft2(gray * window)) ** 2).mean(axis=0) / np.square(window).sum()
    fy, fx = np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij")
    step = 1.0 / max(height, width)
    ring = np.round(np.hypot(fy, fx) / step).astype(np.int64).ravel()
    counts = np.bincount(ring)
    sums = np.bincount(ring, weights=power.ravel())
    keep = np.flatnonzero(counts)[1:]  # every non-empty ring but the zero frequency
    return keep * step, sums[keep] / counts[keep]


def score_histograms(scores: ArrayLike, labels: ArrayLike, threshold: float | None = None, pai: ArrayLike | None = None,
                     ax: Axes | None = None, bins: int = 30, title: str | None = None) -> Axes:
    """Score distributions of bona fide vs attacks (per instrument when ``pai`` is given)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    edges = np.linspace(scores.min(), scores.max(), bins + 1)
    ax.hist(scores[labels == 1], edges, alpha=0.6, color=BONA_FIDE_COLOUR, label="bona fide")
    if pai is None:
        ax.hist(scores[labels == 0], edges, alpha=0.6, color=ATTACK_COLOUR, label="attack")
    else:
        pai = np.asarray(pai)
        for name in sorted(set(pai[labels == 0])):
            ax.hist(scores[pai == name], edges, histtype="step", linewidth=1.5, label=name)
    heading = [title] if title else []
    if threshold is not None:
        ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.2f}")
        m = pad_metrics(scores, labels, threshold, pai)
        heading.append(f"APCER {100 * m['apcer']:.1f} %   BPCER {100 * m['bpcer']:.1f} %   "
                       f"ACER {100 * m['acer']:.1f} %")  # in the title: never under a bar or the line
    ax.set_xlabel("score (higher = more bona fide)", fontsize=10)
    ax.set_ylabel("count", fontsize=10)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside the plot
    if heading:
        ax.set_title("\n".join(heading), fontsize=11)
    return ax


def result_bars(rows: list[dict], key: str = "hter", group: str = "target", series: str = "protocol",
                ax: Axes | None = None) -> Axes:
    """Grouped bars of one metric (in %), e.g. HTER per target domain, intra vs leave-one-out."""
    groups = list(dict.fromkeys(r[group] for r in rows))
    names = list(dict.fromkeys(r[series] for r in rows))
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [100 * next(r[key] for r in rows if r[group] == g and r[series] == name) for g in groups]
        ax.bar(np.arange(len(groups)) + (i - (len(names) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_ylabel(f"{key.upper()} (%)")
    ax.legend(fontsize=8)
    return ax
