"""Bona fide faces that work offline: 800 synthetic identities and a few real photographs.

Every face comes with 478 MediaPipe FaceMesh landmarks ``(x, y, z)`` in pixels of the face
image (``z`` negative towards the camera), fitted once by ``scripts/build_face_assets.py``.
The landmarks drive everything 3D in the course: pseudo-depth labels, head motion and blinks.

Sources (provenance and licences in ``data_samples/README.md``):

- ``"synthetic"``: 64x64 RGB faces sampled from the DCGAN of the ``gan-face-generate`` wheel
  (MIT), trained on Microsoft's DigiFace-1M (synthetic faces, research use). One face, one identity.
- ``"photos"``: real photographs loaded at run time from installed packages: scikit-image's
  astronaut (NASA, public domain) and LFW subset (research use), matplotlib's Grace Hopper
  (public domain). Only their landmarks and crop boxes ship with faslearn.
"""
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from ...utils import check_number


@dataclass
class FaceSet:
    """A batch of aligned faces: ``images`` (N, S, S, 3) uint8 RGB, ``landmarks`` (N, 478, 3) px."""

    images: np.ndarray
    landmarks: np.ndarray
    names: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.images[index], self.landmarks[index]
        index = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index)
        return FaceSet(self.images[index], self.landmarks[index], [self.names[i] for i in index], self.source)

    @property
    def size(self) -> int:
        return self.images.shape[1]


def _asset(name: str):
    path = resources.files("faslearn.data") / "assets" / name
    if not path.is_file():
        raise FileNotFoundError(f"faslearn asset {name!r} is missing from {path.parent}; reinstall faslearn "
                                "or rebuild it with scripts/build_face_assets.py")
    return np.load(path)


@lru_cache(maxsize=1)
def mesh_topology() -> dict[str, np.ndarray]:
    """Triangles of the face mesh (MediaPipe tessellation + eye/mouth closures) and named contours."""
    with _asset("face_mesh_topology.npz") as f:
        return {key: f[key].astype(np.int64) for key in f.files}


def rigid_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Indices of the landmarks that stay put when the face's expression changes: the upper face.

    Kept: every FaceMesh point above the mouth (by more than 2 % of the face's width) and outside a box
    around each eye enlarged by 15 % of the eye's width: forehead, temples, nose and cheeks, about 270 of
    the 478. Left out: the mouth, lips and jaw (they move when the person speaks), the eyelids (blinks)
    and the ten iris points. ``landmarks`` (478, 2 or 3) in pixels, as the renderer or a FaceMesh
    detector gives them; the choice follows each face's own geometry.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < 468 or points.shape[1] < 2:
        raise ValueError(f"expected FaceMesh landmarks (478, 2) or (478, 3), got shape {points.shape}")
    topology = mesh_topology()
    x, y = points[:, 0], points[:, 1]
    keep = y < points[topology["mouth"], 1].min() - 0.02 * np.ptp(x)
    for eye in ("left_eye", "right_eye"):
        (x0, y0), (x1, y1) = points[topology[eye], :2].min(axis=0), points[topology[eye], :2].max(axis=0)
        pad = 0.15 * (x1 - x0)
        keep &= ~((x > x0 - pad) & (x < x1 + pad) & (y > y0 - pad) & (y < y1 + pad))
    keep[468:] = False  # the irises
    return np.flatnonzero(keep)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image: area averaging to shrink, bicubic to enlarge."""
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def _resize_face(image: np.ndarray, landmarks: np.ndarray, size: int):
    """Resize a square face image and scale its landmarks (x, y and z alike) to match."""
    if image.shape[0] == size:
        return image, landmarks
    return _resize(image, size), landmarks * (size / image.shape[0])


def load_faces(source: str = "synthetic", size: int = 64, count: int | None = None) -> FaceSet:
    """Load bona fide faces. ``source`` is ``"synthetic"`` (800 identities) or ``"photos"`` (98 real)."""
    size = check_number(size, "size", 16, 1024, integer=True)
    if count is not None:
        count = check_number(count, "count", 1, integer=True)
    if source == "synthetic":
        with _asset("synthetic_faces.npz") as f:
            images, landmarks = f["images"], f["landmarks"].astype(np.float32)
        names = [f"synthetic_{i:03d}" for i in range(len(images))]
    elif source == "photos":
        images, landmarks, names = _load_photos(size)
    else:
        raise ValueError(f"unknown face source {source!r}; expected 'synthetic' or 'photos'")
    if count is not None:
        if not 0 < count <= len(images):
            raise ValueError(f"count must be in 1..{len(images)} for source {source!r}, got {count}")
        images, landmarks, names = images[:count], landmarks[:count], names[:count]
    resized = [_resize_face(image, points, size) for image, points in zip(images, landmarks)]
    return FaceSet(np.stack([r[0] for r in resized]), np.stack([r[1] for r in resized]).astype(np.float32),
                   list(names), source)


def _photo_sources() -> dict[str, np.ndarray]:
    import matplotlib.cbook
    from skimage import data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = cv2.cvtColor(cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    photos = {"astronaut": data.astronaut(), "grace_hopper": hopper}
    for i, gray in enumerate(data.lfw_subset()[:100]):
        photos[f"lfw_{i:03d}"] = np.repeat((gray * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    return photos


def _load_photos(size: int):
    photos = _photo_sources()
    with _asset("photo_landmarks.npz") as f:
        names, boxes, local = list(f["names"]), f["boxes"], f["landmarks"].astype(np.float32)
    images = []
    for name, (x0, y0, side) in zip(names, boxes):
        crop = photos[str(name)][y0:y0 + side, x0:x0 + side]
        images.append(_resize(crop, size))
    return np.stack(images), local * size, [str(n) for n in names]
