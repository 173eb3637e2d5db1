"""The classical baseline: colour Local Binary Pattern histograms + an SVM.

LBP codes each pixel by which of its P neighbours on a circle of radius R are at least as bright
as it:  LBP(x) = Σ_p [I(x + r_p) >= I(x)] 2^p.  Halftone dots, moiré and the blur of a re-captured
image change the local texture, so the histogram of codes (uniform patterns only, 59 bins for
P = 8) separates live faces from prints and screens surprisingly well inside one dataset
(Määttä et al., 2011). Computing it on the luminance *and* chroma channels of YCrCb captures the
colour-gamut loss of printing and display too (Boulkenafet et al., 2016).
"""
import cv2
import numpy as np
from skimage.feature import local_binary_pattern
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

UNIFORM_BINS = 59  # "nri_uniform" codes for P = 8: 58 uniform patterns + 1 for all the others


def lbp_features(images: np.ndarray, radius: int = 1, grid: int = 2) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB -> (N, 3 * (1 + grid²) * 59) concatenated, normalized histograms.

    Per YCrCb channel: one histogram over the whole face plus one per cell of a grid x grid split.
    """
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
    features = []
    for image in images:
        ycrcb = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
        histograms = []
        for channel in range(3):
            codes = local_binary_pattern(ycrcb[..., channel], 8, radius, method="nri_uniform")
            cells = [codes] + [cell for rows in np.array_split(codes, grid, axis=0)
                               for cell in np.array_split(rows, grid, axis=1)]
            for cell in cells:
                counts = np.bincount(cell.astype(np.int64).ravel(), minlength=UNIFORM_BINS)
                histograms.append(counts / counts.sum())
        features.append(np.concatenate(histograms))
    return np.asarray(features, dtype=np.float32)


class LBPSVM:
    """Colour LBP + RBF SVM. ``score`` is the SVM's signed distance: higher = more bona fide."""

    def __init__(self, radius: int = 1, grid: int = 2, C: float = 10.0):
        self.radius, self.grid = radius, grid
        self.classifier = make_pipeline(StandardScaler(), SVC(C=C, kernel="rbf", gamma="scale"))

    def fit(self, images: np.ndarray, labels: np.ndarray) -> "LBPSVM":
        self.classifier.fit(lbp_features(images, self.radius, self.grid), labels)
        return self

    def score(self, images: np.ndarray) -> np.ndarray:
        return self.classifier.decision_function(lbp_features(images, self.radius, self.grid))
