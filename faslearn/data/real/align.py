"""Face detection and alignment: find the face in a real frame and cut a square crop of it.

Real datasets ship whole frames (a phone video of a face, a replay screen, a print); models take a
square face crop. Two steps get from one to the other:

1. Detect: a ``FaceDetector`` returns the faces of an RGB image as ``Face`` records, a box and,
   when it finds them, both eye centres. Backends: ``"haar"`` (OpenCV's cascades, always there,
   the default), ``"mediapipe"`` and ``"mtcnn"`` (optional installs, imported only when asked for).
2. Align: ``align_face`` maps the face onto a fixed template by a similarity transform (rotation,
   uniform scale, shift), so that the eyes of every crop land on the same two pixels; without eyes,
   a square around the box is cut instead.

Coordinates are continuous pixels throughout: the image spans [0, W] x [0, H], so pixel (i, j)
covers [i, i + 1) x [j, j + 1) and its centre is (i + 0.5, j + 0.5). Images are uint8 (H, W, 3) RGB.
"""
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import ArrayLike

# The template, in units of a face box side (a frontal face box like Haar's, forehead to chin):
# the eye centres lie EYE_DISTANCE apart, on a line EYE_HEIGHT below the box top (measured on Haar
# boxes: 0.35-0.48 and 0.36-0.38 on Grace Hopper and the astronaut).
EYE_DISTANCE = 0.39
EYE_HEIGHT = 0.37
MARGIN = 0.3  # the crop is (1 + MARGIN) box sides wide: CDCN's test-time 1.3 scale


class NoFaceError(ValueError):
    """The detector found no face in the image."""


@dataclass(frozen=True)
class Face:
    """One detected face, in the image's pixels.

    ``eyes`` are the two eye centres, the one on the image's left first (the subject's right eye),
    or None when the detector did not find both. ``score`` is the detector's confidence: a
    probability for MediaPipe and MTCNN, the number of merged detections for Haar.
    """

    box: tuple[float, float, float, float]  # x, y, w, h
    eyes: tuple[tuple[float, float], tuple[float, float]] | None
    score: float


def check_image(image: ArrayLike) -> np.ndarray:
    """``image`` as an array, after checking that it is an RGB image: uint8 (H, W, 3)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an RGB image, uint8 of shape (H, W, 3); got {image.dtype} of shape {image.shape}")
    return image


class FaceDetector:
    """Base class: ``detect(image)`` -> the faces, largest first (the subject of a presentation is
    the largest face in the frame). Subclasses implement ``_detect`` and set ``name``."""

    name = "base"

    def detect(self, image: ArrayLike) -> list[Face]:
        faces = self._detect(check_image(image))
        return sorted(faces, key=lambda face: face.box[2] * face.box[3], reverse=True)

    def _detect(self, image: np.ndarray) -> list[Face]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@lru_cache(maxsize=None)
def _cascade(filename: str) -> cv2.CascadeClassifier:
    """One of OpenCV's bundled cascades, loaded once per process (detectors stay picklable)."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + filename)
    if cascade.empty():
        raise ImportError(f"OpenCV's {filename} is missing from {cv2.data.haarcascades}; "
                          f"expected opencv-python-headless<5, which bundles the Haar cascades")
    return cascade


def _pick_eyes(candidates, w: float, h: float):
    """The pair of eye-cascade boxes (x, y, side, side in face-box pixels) most like two eyes, or None.

    One eye must lie in each half of the box, the pair tilted by less than ~27° (|dy| < dx / 2);
    among such pairs, the one closest to the template (EYE_DISTANCE apart, EYE_HEIGHT down) with the
    most similar sizes wins (an eye and an eyebrow-and-eye box differ in size).
    """
    eyes = [(x + side / 2, y + side / 2, side) for x, y, side, _ in candidates if 0.07 * w <= side <= 0.35 * w]
    best, best_cost = None, np.inf
    for left in (e for e in eyes if e[0] < w / 2):
        for right in (e for e in eyes if e[0] >= w / 2):
            dx, dy = right[0] - left[0], right[1] - left[1]
            if abs(dy) >= dx / 2:
                continue
            cost = (abs(np.hypot(dx, dy) - EYE_DISTANCE * w) / w + abs((left[1] + right[1]) / 2 - EYE_HEIGHT * h) / h
                    + abs(left[2] - right[2]) / w)
            if cost < best_cost:
                best, best_cost = (left[:2], right[:2]), cost
    return best


class HaarDetector(FaceDetector):
    """OpenCV's Viola-Jones cascades: the frontal face, then both eyes inside the box's upper half.

    Frontal faces only, up to about 20° of in-plane rotation. Frames are shrunk to at most
    ``max_side`` pixels for detection (speed; faces stay large enough), boxes scaled back.
    """

    name = "haar"

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, max_side: int = 640):
        self.scale_factor, self.min_neighbors, self.max_side = scale_factor, min_neighbors, max_side

    def _detect(self, image):
        scale = min(1.0, self.max_side / max(image.shape[:2]))
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if scale < 1:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        boxes, counts = _cascade("haarcascade_frontalface_default.xml").detectMultiScale2(
            gray, self.scale_factor, self.min_neighbors, minSize=(24, 24))
        faces = []
        for (x, y, w, h), count in zip(boxes, counts):
            upper = gray[y:y + int(0.55 * h), x:x + w]  # the eyes are in the upper half of a face box
            candidates = _cascade("haarcascade_eye.xml").detectMultiScale(upper, 1.1, 3, minSize=(5, 5))
            pair = _pick_eyes(candidates, w, h)
            eyes = None if pair is None else tuple((float(x + ex) / scale, float(y + ey) / scale) for ex, ey in pair)
            faces.append(Face(tuple(float(v) / scale for v in (x, y, w, h)), eyes, float(count)))
        return faces


def _ordered_eyes(a, b):
    """Two eye centres as floats, the one on the image's left first."""
    a, b = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
    return (a, b) if a[0] <= b[0] else (b, a)


class MediaPipeDetector(FaceDetector):
    """MediaPipe's BlazeFace (full-range model): a box, a probability and six keypoints, eyes among them."""

    name = "mediapipe"

    def __init__(self, min_confidence: float = 0.5):
        install = 'pip install --no-deps mediapipe==0.10.21 "protobuf>=4.25.3,<5" absl-py flatbuffers'
        try:
            import mediapipe as mp
        except ImportError as error:
            raise ImportError("the mediapipe detector needs mediapipe 0.10.21 (the last release with bundled "
                              f"models): {install}") from error
        if not hasattr(mp, "solutions"):
            raise ImportError(f"mediapipe {getattr(mp, '__version__', '?')} has no bundled face models; expected "
                              f"0.10.21: {install}")
        self.min_confidence = min_confidence
        self._model = mp.solutions.face_detection.FaceDetection(model_selection=1,
                                                                min_detection_confidence=min_confidence)

    def __getstate__(self):  # the model is rebuilt in each process
        return {"min_confidence": self.min_confidence}

    def __setstate__(self, state):
        self.__init__(**state)

    def _detect(self, image):
        height, width = image.shape[:2]
        faces = []
        for detection in self._model.process(image).detections or []:
            box = detection.location_data.relative_bounding_box
            points = detection.location_data.relative_keypoints  # 0, 1: the two eyes
            eyes = _ordered_eyes(*((p.x * width, p.y * height) for p in points[:2]))
            faces.append(Face((box.xmin * width, box.ymin * height, box.width * width, box.height * height),
                              eyes, float(detection.score[0])))
        return faces


class MTCNNDetector(FaceDetector):
    """facenet-pytorch's MTCNN (three cascaded CNNs): a box, a probability and five landmarks, eyes first."""

    name = "mtcnn"

    def __init__(self, min_probability: float = 0.9):
        try:
            from facenet_pytorch import MTCNN
        except ImportError as error:
            raise ImportError("the mtcnn detector needs facenet-pytorch (and torchvision): "
                              "pip install --no-deps facenet-pytorch==2.6.0") from error
        self.min_probability = min_probability
        self._model = MTCNN(keep_all=True, device="cpu")

    def __getstate__(self):
        return {"min_probability": self.min_probability}

    def __setstate__(self, state):
        self.__init__(**state)

    def _detect(self, image):
        boxes, probabilities, points = self._model.detect(image, landmarks=True)
        if boxes is None:
            return []
        faces = []
        for (x1, y1, x2, y2), probability, landmarks in zip(boxes, probabilities, points):
            if float(probability) >= self.min_probability:  # facenet returns object arrays under numpy 2
                x1, y1, x2, y2 = (float(v) for v in (x1, y1, x2, y2))
                faces.append(Face((x1, y1, x2 - x1, y2 - y1), _ordered_eyes(landmarks[0], landmarks[1]),
                                  float(probability)))
        return faces


DETECTORS = {"haar": HaarDetector, "mediapipe": MediaPipeDetector, "mtcnn": MTCNNDetector}


def get_detector(detector: str | FaceDetector = "haar") -> FaceDetector:
    """A detector from its name (a key of ``DETECTORS``), or ``detector`` itself if it is one already."""
    if isinstance(detector, FaceDetector):
        return detector
    if detector not in DETECTORS:
        raise ValueError(f"unknown face detector {detector!r}; expected one of {list(DETECTORS)} "
                         f"or a FaceDetector instance")
    return DETECTORS[detector]()


def eye_template(size: int, margin: float = MARGIN) -> np.ndarray:
    """Where ``align_face`` puts the eye centres in a ``size`` crop: (2, 2), the image-left eye first.

    The crop is a face box enlarged to (1 + margin) box sides, so in crop fractions the eyes sit at
        x = 0.5 ∓ EYE_DISTANCE / 2 / (1 + margin),  y = (margin / 2 + EYE_HEIGHT) / (1 + margin):
    (0.35, 0.40) and (0.65, 0.40) at the default margin of 0.3.
    """
    half = EYE_DISTANCE / 2 / (1 + margin)
    y = (margin / 2 + EYE_HEIGHT) / (1 + margin)
    return np.array([[0.5 - half, y], [0.5 + half, y]]) * size


def face_transform(face: Face, size: int, margin: float = MARGIN) -> np.ndarray:
    """The 2x3 similarity matrix, image pixels -> crop pixels, that ``align_face`` warps with."""
    if face.eyes is not None:
        # as complex numbers z = x + iy, a similarity is z -> a z + b (a: rotation and scale, b: shift);
        # the two eye correspondences p -> q fix it: a = (q2 - q1) / (p2 - p1), b = q1 - a p1
        (p1, p2), (q1, q2) = (complex(*e) for e in face.eyes), (complex(*q) for q in eye_template(size, margin))
        if p1 == p2:
            raise ValueError(f"the two eyes of {face} are one point; expected two distinct eye centres")
        a = (q2 - q1) / (p2 - p1)
        b = q1 - a * p1
        return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])
    x, y, w, h = face.box
    if w <= 0 or h <= 0:
        raise ValueError(f"face box (x, y, w, h) = {face.box} is empty; expected a positive width and height")
    # a square of side (1 + margin) * the box's longer side, centred on the box, scaled to size
    scale = size / ((1 + margin) * max(w, h))
    return np.array([[scale, 0, size / 2 - scale * (x + w / 2)], [0, scale, size / 2 - scale * (y + h / 2)]])


def align_face(image: ArrayLike, face: Face, size: int, margin: float = MARGIN) -> np.ndarray:
    """The ``size`` x ``size`` crop of ``face``: uint8 (size, size, 3).

    With eyes: the similarity transform that puts them on ``eye_template`` (the face upright, at one
    scale). Without: a square of (1 + margin) box sides centred on the box. Parts of the crop outside
    the image repeat its border pixels (BORDER_REPLICATE).
    """
    image = check_image(image)
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    matrix = face_transform(face, size, margin)
    scale = np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    if scale < 1:
        # shrink by area averaging first: warpAffine alone would alias, and aliasing makes moiré, a spoof cue.
        # cv2.resize maps continuous x to x * (new width / width), so the matrix absorbs the inverse
        height, width = image.shape[:2]
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.diag([width / image.shape[1], height / image.shape[0], 1.0])
    # warpAffine works on pixel indices (centres at integers): index = continuous - 0.5 on both sides
    matrix = matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ [0.5, 0.5] - 0.5
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def detect_and_align(image: ArrayLike, size: int, detector: str | FaceDetector = "haar",
                     margin: float = MARGIN) -> tuple[np.ndarray, Face]:
    """Detect the faces of ``image``, align the largest: (crop uint8 (size, size, 3), its Face)."""
    image = check_image(image)
    detector = get_detector(detector)
    faces = detector.detect(image)
    if not faces:
        raise NoFaceError(f"the {detector.name} detector found no face in the {image.shape[1]}x{image.shape[0]} "
                          f"image; expected a frontal face (try another detector: {list(DETECTORS)})")
    return align_face(image, faces[0], size, margin), faces[0]
