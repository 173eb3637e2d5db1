"""Clips: read videos, register every frame onto the first, pick key frames, optical flow.

The preprocessing of "Two-stream Convolutional Networks for Multi-frame Face Anti-spoofing"
(arXiv 2108.04032, §3.1), which feeds a multi-frame model:

1. Registration. Anchor points are tracked through the clip and every frame is warped onto the
   first by a homography (Eq. 1), estimated with RANSAC:

       f(x, y) = g( (W1·x + W2·y + W3) / (W7·x + W8·y + W9),  (W4·x + W5·y + W6) / (W7·x + W8·y + W9) )

   g is frame t, f its registered version, and W maps frame-0 coordinates into frame t. The paper
   picks "anchor points, whose position are fixed even with face expression changes" among the
   face detector's key points. Here the anchors are the face's ``rigid_landmarks`` (forehead,
   temples, nose, cheeks: no mouth, no eyelid, no jaw), where a landmark detector put them in
   frame 0 (the sample world knows them); each is followed into every frame
   by pyramidal Lucas-Kanade (optical flow of a small window, tracked coarse to fine) and the
   homography is fitted with RANSAC (random samples of four matches, the one most matches agree
   with). The comparison, ``anchors="features"``, tracks Shi-Tomasi corners (points where the image
   changes in two directions) over the whole crop instead, background included.
2. Crop. The paper crops every registered frame with the box of the first frame's face. The
   course's frames are already face crops, so the box is the whole of frame 0; a real video
   passes the detector's box of frame 0.
3. Key frames. The clip is divided into k stacks and one frame is kept per stack by its
   "difference deviation" from an onset frame (``key_frames`` says exactly how).

``prepare_clips`` runs the three on every clip of a course benchmark and caches the result.

Frames are uint8 arrays (T, H, W, 3), RGB, as everywhere in faslearn.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from ..cache import cached

if TYPE_CHECKING:
    from .world.benchmark import Benchmark

FLOW_METHODS = ("dis", "farneback")
ANCHORS = ("landmarks", "features")  # how prepare_clips registers: rigid facial landmarks, or whole-crop corners


def _size_pair(size) -> tuple[int, int]:
    """An int (a square side) or (width, height), the order cv2.resize takes, as (width, height)."""
    width, height = (size, size) if np.isscalar(size) else size
    return int(width), int(height)


def read_video(path: str | Path, num_frames: int | None = None,
               size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Decode a video file into a uint8 array (T, H, W, 3), RGB.

    ``num_frames`` picks that many frames spread uniformly over the whole video, the first and the
    last included (indices round(linspace(0, T − 1, num_frames)), all distinct when num_frames ≤ T):
    the clip then spans the same stretch of time whatever the video's length and frame rate.
    ``size`` (an int for a square, or (width, height)) resizes every frame with INTER_AREA.
    The whole video is decoded (frame counts stored in containers are often wrong, and seeking in
    compressed streams is unreliable); frames are resized as they come, to keep memory small.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no video file at {path}")
    if num_frames is not None and num_frames < 1:
        raise ValueError(f"num_frames must be a positive number of frames, got {num_frames}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path} cannot be opened as a video; expected a video file OpenCV can decode")
    frames = []
    try:
        while True:
            ok, frame = capture.read()  # BGR uint8 (H, W, 3)
            if not ok:
                break
            if not frames:
                first_shape = frame.shape
            elif frame.shape != first_shape:
                raise ValueError(f"{path}: frame {len(frames)} is {frame.shape[1]}x{frame.shape[0]}, "
                                 f"frame 0 was {first_shape[1]}x{first_shape[0]}; expected one frame size")
            if size is not None:
                frame = cv2.resize(frame, _size_pair(size), interpolation=cv2.INTER_AREA)
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise ValueError(f"{path} opened but no frame could be decoded; expected a video with at least one frame")
    if num_frames is not None and len(frames) < num_frames:
        raise ValueError(f"{path} has {len(frames)} frames, {num_frames} requested")
    video = np.stack(frames)
    if num_frames is None:
        return video
    return video[np.round(np.linspace(0, len(video) - 1, num_frames)).astype(int)]


def check_clip(frames: ArrayLike) -> np.ndarray:
    """``frames`` as an array, after checking that it is a clip: uint8 (T, H, W, 3) with T ≥ 2."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
        raise ValueError(f"expected a clip of RGB frames, uint8 of shape (T, H, W, 3) with T >= 2; "
                         f"got {frames.dtype} of shape {frames.shape}")
    return frames


def frame_differences(frames: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Differences of consecutive frames, x_{t+1} − x_t: float32 (T − 1, H, W, 3).

    With a ``reference`` frame (H, W, 3), the difference of every frame from it instead,
    x_t − reference: float32 (T, H, W, 3).
    """
    frames = frames.astype(np.float32)
    if reference is None:
        return frames[1:] - frames[:-1]
    return frames - reference.astype(np.float32)


def registration_residual(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference of consecutive frames, mean |x_{t+1} − x_t| (grey levels): (T − 1,).

    Plot it before and after ``register_clip``: what registration leaves is the motion that one
    homography cannot explain.
    """
    return np.abs(frame_differences(check_clip(frames))).mean(axis=(1, 2, 3))


@dataclass
class RegisteredClip:
    """The frames warped onto frame 0, and how."""

    frames: np.ndarray  # (T, H, W, 3) uint8; (T, h, w, 3) when cropped to a box and resized
    homographies: np.ndarray  # (T, 3, 3) float64, frame t → frame 0 in full-frame pixels, H[2, 2] = 1
    inliers: np.ndarray  # (T,) RANSAC inliers; for frame 0, the number of anchors
    fallback: np.ndarray  # (T,) bool, True where too few anchors tracked and the identity was used

    def __len__(self) -> int:
        return len(self.frames)


def _track(first: np.ndarray, other: np.ndarray, points: np.ndarray,
           max_error: float) -> tuple[np.ndarray, np.ndarray]:
    """Which ``points`` of ``first`` Lucas-Kanade follows into ``other`` reliably, and where to.

    Forward-backward check: track first → other, then back other → first; a good track lands back
    within ``max_error`` pixels of where it started. Returns (good mask (N,), positions in other (N, 2)).
    """
    lk = dict(winSize=(15, 15), maxLevel=3,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    forward, found, _ = cv2.calcOpticalFlowPyrLK(first, other, points, None, **lk)
    backward, found_back, _ = cv2.calcOpticalFlowPyrLK(other, first, forward, None, **lk)
    round_trip = np.linalg.norm(points - backward, axis=-1).ravel()
    good = (found.ravel() == 1) & (found_back.ravel() == 1) & (round_trip < max_error)
    return good, forward.reshape(-1, 2)


def register_clip(frames: np.ndarray, anchors: str | np.ndarray = "features",
                  box: tuple[float, float, float, float] | None = None, size: int | tuple[int, int] | None = None,
                  max_corners: int = 200, min_distance: float = 3.0, quality: float = 0.01,
                  max_track_error: float = 1.0, ransac_threshold: float = 1.0, min_matches: int = 4) -> RegisteredClip:
    """Warp every frame onto frame 0 by a homography estimated from tracked anchor points (Eq. 1).

    Anchors: ``"features"`` takes up to ``max_corners`` Shi-Tomasi corners of frame 0 (at least
    ``min_distance`` pixels apart, corner strength ≥ ``quality`` × the strongest), inside ``box``
    if one is given so that the background does not vote; or pass your own (N, 2) array of (x, y)
    points in frame 0 (a detector's rigid landmarks: eye corners, nose bridge). Each anchor is
    tracked from frame 0 straight into frame t (pyramidal Lucas-Kanade, 3 levels: motions up to
    tens of pixels; no drift accumulates along the clip), tracks that fail the forward-backward
    check are dropped, and H_t is fitted to the rest with RANSAC (``ransac_threshold`` pixels).
    H_t maps frame t to frame 0; the paper's W in Eq. 1 (frame 0 → frame t) is its inverse.

    Fallback: a homography has 8 degrees of freedom, so it needs 4 matches. If fewer than
    ``min_matches`` anchors track into frame t (a textureless frame, a cut, a face leaving the
    picture) or RANSAC finds no homography, frame t keeps the identity, ``fallback[t]`` is True
    and the clip is still returned.

    Crop: registered frames keep frame 0's field of view; pixels that come from outside frame t
    repeat its border (BORDER_REPLICATE). ``box`` = (x, y, w, h), frame 0's face box in a real
    video, crops every registered frame to it (it must lie inside the frame), and ``size`` (an int
    or (width, height)) then resizes the crops with INTER_AREA.

    What registration teaches: a homography registers a *plane* exactly. A print or a screen
    moves as a plane, so once registered its frames differ only by noise and flicker (a replay
    screen also plays a recorded, moving head: that motion stays too). A live head is 3D: no
    single homography moves the nose and the cheeks together (parallax), and blinks are not
    motions of the plane at all. Registration removes the rigid motion that both kinds share, and
    turns the live face's 3D motion into the residual (``registration_residual``).
    """
    frames = check_clip(frames)
    num_frames, height, width = frames.shape[:3]
    if min_matches < 4:
        raise ValueError(f"min_matches must be at least 4 (a homography's 8 degrees of freedom), got {min_matches}")
    if box is not None:
        x, y, w, h = (int(v) for v in box)
        if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise ValueError(f"box (x, y, w, h) = {tuple(box)} must lie inside the {width}x{height} frame")
    gray = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]

    if isinstance(anchors, str):
        if anchors != "features":
            raise ValueError(f"anchors must be 'features' or an (N, 2) array of points in frame 0, got {anchors!r}")
        mask = None
        if box is not None:
            mask = np.zeros((height, width), np.uint8)
            mask[y:y + h, x:x + w] = 255
        corners = cv2.goodFeaturesToTrack(gray[0], max_corners, quality, min_distance, mask=mask)
        points = np.zeros((0, 1, 2), np.float32) if corners is None else corners.astype(np.float32)
    else:
        points = np.asarray(anchors, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"anchors must be 'features' or an (N, 2) array of (x, y) points, "
                             f"got shape {points.shape}")
        points = points.reshape(-1, 1, 2)

    homographies = np.tile(np.eye(3), (num_frames, 1, 1))
    inliers = np.zeros(num_frames, dtype=np.int64)
    fallback = np.zeros(num_frames, dtype=bool)
    inliers[0] = len(points)
    registered = [frames[0]]
    for t in range(1, num_frames):
        homography = None
        if len(points) >= min_matches:
            good, moved = _track(gray[0], gray[t], points, max_track_error)
            if good.sum() >= min_matches:
                # H_t: frame-t positions → frame-0 positions of the same anchors
                homography, kept = cv2.findHomography(moved[good], points[good, 0], cv2.RANSAC, ransac_threshold)
        if homography is None:
            fallback[t] = True
            registered.append(frames[t])
            continue
        homographies[t] = homography / homography[2, 2]
        inliers[t] = int(kept.sum())
        # warpPerspective reads frame t at H_t⁻¹(x, y) = W(x, y) for each frame-0 pixel: Eq. 1
        registered.append(cv2.warpPerspective(frames[t], homographies[t], (width, height), flags=cv2.INTER_LINEAR,
                                              borderMode=cv2.BORDER_REPLICATE))
    registered = np.stack(registered)

    if box is not None:
        registered = registered[:, y:y + h, x:x + w]
    if size is not None:
        registered = np.stack([cv2.resize(frame, _size_pair(size), interpolation=cv2.INTER_AREA)
                               for frame in registered])
    return RegisteredClip(registered, homographies, inliers, fallback)


def key_frames(frames: np.ndarray, k: int) -> np.ndarray:
    """Indices of k + 1 key frames (sorted, distinct), by the paper's "difference deviation" (§3.1).

    The paper: "All frames in a video are divided into k stacks, and the first frame is defined as
    the onset frame. In the first stack we find a frame which have the greatest changes from the
    onset frame, i.e. have the largest difference deviation, and regard this frame as the new
    onset frame. We can collect k + 1 frames (including the first frame)". It does not say what
    happens in the other stacks, nor what exactly the deviation is. Our reading:

    - difference deviation of frame j from the onset o: std(x_j − x_o), the standard deviation of
      the difference image over its pixels and channels (a uniform change of brightness, which
      shifts the difference image as a whole, does not count as a change);
    - frames 1 … T − 1 are split into k stacks of consecutive frames (np.array_split), frame 0
      being the first onset;
    - stack 1 gives the frame of largest deviation from frame 0, which becomes the new onset;
    - stacks 2 … k each give the frame of largest deviation from that new onset.

    So the result is [0, new onset, one frame per later stack]: k + 1 indices, the first frame
    included, each stack contributing one. Needs T ≥ k + 1 so that every stack has a frame.
    """
    frames = check_clip(frames)
    if k < 1:
        raise ValueError(f"k must be at least 1 stack, got {k}")
    if len(frames) < k + 1:
        raise ValueError(f"a clip of {len(frames)} frames cannot give {k}+1 key frames")
    stacks = np.array_split(np.arange(1, len(frames)), k)
    onset = 0
    chosen = [onset]
    for stack in stacks:
        deviation = frame_differences(frames[stack], reference=frames[onset]).std(axis=(1, 2, 3))
        chosen.append(int(stack[np.argmax(deviation)]))
        if onset == 0:
            onset = chosen[-1]  # the frame that changed most in stack 1 is the new onset
    return np.array(chosen)


def optical_flow(frames: np.ndarray, method: str = "dis") -> np.ndarray:
    """Dense optical flow between consecutive grey frames: float32 (T − 1, H, W, 2), (dx, dy) pixels.

    flow[t] at pixel (x, y) says where that point of frame t went in frame t + 1:
    x_{t+1}(x + dx, y + dy) ≈ x_t(x, y). ``method``: ``"dis"`` (Dense Inverse Search, Kroeger et
    al. 2016, MEDIUM preset) or ``"farneback"`` (polynomial expansion, Farnebäck 2003). The paper
    uses TV-L1, which lives in opencv-contrib and is not in the headless OpenCV wheel, so DIS
    stands in for it.
    """
    frames = check_clip(frames)
    if method not in FLOW_METHODS:
        raise ValueError(f"unknown optical flow method {method!r}; expected one of {FLOW_METHODS}")
    gray = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flows = [dis.calc(a, b, None) for a, b in zip(gray, gray[1:])]
    else:
        flows = [cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=3, winsize=15, iterations=3,
                                              poly_n=5, poly_sigma=1.2, flags=0) for a, b in zip(gray, gray[1:])]
    return np.stack(flows).astype(np.float32)


@dataclass
class PreparedClips:
    """Every presentation of a benchmark, ready for a multi-frame model: registered key frames."""

    frames: np.ndarray  # (N, k + 1, S, S, 3) uint8, the registered key frames of each benchmark row
    key_frames: np.ndarray  # (N, k + 1) their indices in the rendered clip
    flow: np.ndarray | None  # (N, k, S, S, 2) float16 optical flow between consecutive key frames

    def __len__(self) -> int:
        return len(self.frames)


LANDMARK_RANSAC_PX = 2.0  # landmark anchors spread over a 3D face: a homography fits them to ~2 px, not 1


def register_face(frames: np.ndarray, points: np.ndarray | None = None,
                  box: tuple[int, int, int, int] | None = None) -> RegisteredClip:
    """The registration ``prepare_clips`` applies: on facial ``points`` of frame 0 when given (RANSAC at
    ``LANDMARK_RANSAC_PX``), else on Shi-Tomasi corners, inside ``box`` (x, y, w, h) if given (the
    background does not vote) or over the whole crop. The frames keep frame 0's whole field of view."""
    if points is not None:
        return register_clip(frames, anchors=points, ransac_threshold=LANDMARK_RANSAC_PX)
    registered = register_clip(frames, box=box)
    if box is None:
        return registered
    height, width = frames.shape[1:3]
    whole = [frames[0]] + [cv2.warpPerspective(frame, h, (width, height), flags=cv2.INTER_LINEAR,
                                               borderMode=cv2.BORDER_REPLICATE)
                           for frame, h in zip(frames[1:], registered.homographies[1:])]
    return RegisteredClip(np.stack(whole), registered.homographies, registered.inliers, registered.fallback)


def _prepare_one(frames: np.ndarray, k: int, register: bool, flow: str | None, points: np.ndarray | None = None,
                 box: tuple | None = None):
    if register:
        frames = register_face(frames, points, box).frames
    chosen = key_frames(frames, k)
    frames = frames[chosen]
    return frames, chosen, None if flow is None else optical_flow(frames, flow).astype(np.float16)


def prepare_clips(benchmark: "Benchmark", k: int, register: bool = True, flow: str | None = None, cache: bool = True,
                  progress: bool = True, anchors: str = "landmarks") -> PreparedClips:
    """Register every rendered clip of ``benchmark`` onto its first frame, keep k + 1 key frames, and
    (``flow`` = "dis" | "farneback") compute their optical flow: §3.1 applied to a whole benchmark.

    Args:
        benchmark: a course `Benchmark` or real crops (`faslearn.data.load_crops`).
        k: k + 1 key frames per clip (the paper: 9 within a dataset, 4 across datasets).
        register: warp every frame onto frame 0 first (False: key frames of the raw clip).
        flow: None, or the optical flow method of ``optical_flow`` between consecutive key frames.
        cache: keep the result on disk beside the benchmark, keyed by the benchmark, these settings and
            this module's code, so a second call (another run of a sweep) loads it in a second.
        progress: show a progress bar.
        anchors: ``"landmarks"`` (the default): the face's rigid landmarks, or corners inside its box where the
            set has no landmarks (``Benchmark.anchors``, ``CropSet.anchors``); ``"features"``: Shi-Tomasi
            corners over the whole crop, background included (the comparison).

    Returns:
        `PreparedClips`: the registered key frames, their indices, and the flow if asked for.
    """
    if flow is not None and flow not in FLOW_METHODS:
        raise ValueError(f"unknown optical flow method {flow!r}; expected one of {FLOW_METHODS} or None")
    if anchors not in ANCHORS:
        raise ValueError(f"unknown registration anchors {anchors!r}; expected one of {ANCHORS}")
    if benchmark.frames.shape[1] < k + 1:
        raise ValueError(f"the benchmark's clips have {benchmark.frames.shape[1]} frames, too few for "
                         f"{k}+1 key frames; render it with num_frames >= {k + 1}")
    digest = hashlib.sha256(f"{benchmark.config.key()}-{k}-{register}-{flow}-{anchors}".encode())
    digest.update(Path(__file__).read_bytes())

    def prepare() -> dict:
        prepared = []
        for row, clip in enumerate(tqdm(benchmark.frames, desc="registering clips", disable=not progress,
                                        unit="clip")):
            points, box = benchmark.anchors(row) if anchors == "landmarks" else (None, None)
            prepared.append(_prepare_one(clip, k, register, flow, points, box))
        arrays = dict(frames=np.stack([p[0] for p in prepared]), key_frames=np.stack([p[1] for p in prepared]))
        if flow is not None:
            arrays["flow"] = np.stack([p[2] for p in prepared])
        return arrays

    arrays = cached(f"clips-{digest.hexdigest()[:16]}", prepare, cache)
    return PreparedClips(arrays["frames"], arrays["key_frames"], arrays.get("flow"))
