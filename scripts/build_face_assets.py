"""Build the face assets that ship in ``faslearn/data/assets/`` (run once, by maintainers).

The course itself never runs this script and never needs its two extra packages. It

1. samples synthetic faces (64x64 RGB) from the DCGAN generator that the ``gan-face-generate``
   wheel ships (trained on Microsoft's DigiFace-1M synthetic faces),
2. fits MediaPipe FaceMesh (``mediapipe==0.10.21``, the last release that bundles its .tflite
   models) to every face to get 478 3D landmarks, keeping only faces where the mesh was found,
3. fits the same mesh to the real photographs the course loads from installed packages
   (scikit-image's astronaut and LFW subset, matplotlib's Grace Hopper), storing only the
   landmarks and crop boxes, never the photographs,
4. derives the triangle list of the mesh (the 3-cliques of MediaPipe's tessellation edges) plus
   fan triangles that close the eye and mouth openings, so that depth maps and warps have no holes.

Install the build-time tools with
    pip install --no-deps gan-face-generate==1.1.1 mediapipe==0.10.21
    pip install "protobuf>=4.25.3,<5" absl-py flatbuffers
then run ``python scripts/build_face_assets.py``.
"""
import argparse
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import torch

ASSETS = Path(__file__).resolve().parents[1] / "faslearn" / "data" / "assets"
FACE_SIZE = 64
MESH_INPUT = 256  # FaceMesh works far better on upsampled faces than at 64 px


def sample_dcgan_faces(count: int, seed: int) -> np.ndarray:
    import gan_face_generate
    from gan_face_generate.models import Generator

    weights = Path(gan_face_generate.__file__).parent / "weights.tar"
    state = torch.load(weights, map_location="cpu", weights_only=True)["netG_state_dict"]
    generator = Generator(0, 3, 100, 64)
    generator.load_state_dict(state)
    generator.eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        images = generator(torch.randn(count, 100, 1, 1))
    return ((images.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)


class MeshFitter:
    """MediaPipe FaceMesh + face detection on an RGB image -> (478, 3) landmarks in pixels."""

    def __init__(self):
        import mediapipe as mp

        self.mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5)
        self.detector = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.3)

    def __call__(self, rgb: np.ndarray):
        size = rgb.shape[0]
        big = cv2.resize(rgb, (MESH_INPUT, MESH_INPUT), interpolation=cv2.INTER_CUBIC)
        found = self.mesh.process(big).multi_face_landmarks
        if not found:
            return None, 0.0
        points = np.array([[p.x, p.y, p.z] for p in found[0].landmark], dtype=np.float32) * size
        detections = self.detector.process(big).detections
        score = max((d.score[0] for d in detections), default=0.0) if detections else 0.0
        return points, float(score)


def ordered_loop(edges) -> list[int]:
    """Order an edge set that forms one closed contour into a vertex loop."""
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    start = min(neighbours)
    loop, previous = [start], None
    while True:
        current = loop[-1]
        step = [n for n in neighbours[current] if n != previous][0]
        if step == start:
            return loop
        previous = current
        loop.append(step)


def mesh_topology():
    from mediapipe.python.solutions import face_mesh_connections as c

    neighbours: dict[int, set[int]] = {}
    for a, b in c.FACEMESH_TESSELATION:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    triangles = {tuple(sorted((a, b, d))) for a in neighbours for b, d in combinations(neighbours[a], 2)
                 if d in neighbours[b]}
    # The 3-cliques include a few "ghost" triangles spanning three real ones; they lie inside
    # the surface, are harmless for a z-buffer, and are kept for simplicity.
    left_eye, right_eye = ordered_loop(c.FACEMESH_LEFT_EYE), ordered_loop(c.FACEMESH_RIGHT_EYE)
    lips_edges = list(c.FACEMESH_LIPS)
    # FACEMESH_LIPS holds two cycles; the inner one (the mouth opening) passes through vertex 78.
    inner = set()
    frontier = {78}
    while frontier:
        inner |= frontier
        frontier = {b for a, b in lips_edges if a in inner} | {a for a, b in lips_edges if b in inner}
        frontier -= inner
    mouth = ordered_loop([(a, b) for a, b in lips_edges if a in inner])
    fans = [(loop[0], loop[i], loop[i + 1]) for loop in (left_eye, right_eye, mouth) for i in range(1, len(loop) - 1)]
    triangles = np.array(sorted(triangles) + fans, dtype=np.int16)
    oval = np.array(ordered_loop(c.FACEMESH_FACE_OVAL), dtype=np.int16)
    return triangles, oval, np.array(left_eye, np.int16), np.array(right_eye, np.int16), np.array(mouth, np.int16)


def real_photographs():
    """(name, RGB image, licence) for the photographs the package loads at run time."""
    import matplotlib.cbook
    from skimage import data

    yield "astronaut", data.astronaut()
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        yield "grace_hopper", cv2.cvtColor(cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR),
                                           cv2.COLOR_BGR2RGB)
    lfw = data.lfw_subset()[:100]  # the first 100 entries are faces, the rest are not
    for i, gray in enumerate(lfw):
        yield f"lfw_{i:03d}", np.repeat((gray * 255).astype(np.uint8)[..., None], 3, axis=2)


def square_box_around(points: np.ndarray, shape, margin: float = 1.6):
    """A square crop box (x0, y0, side) centred on the landmarks, clipped to the image."""
    (x_min, y_min), (x_max, y_max) = points[:, :2].min(0), points[:, :2].max(0)
    side = int(round(max(x_max - x_min, y_max - y_min) * margin))
    side = min(side, shape[0], shape[1])
    cx, cy = (x_min + x_max) / 2, (y_min + y_max) / 2
    x0 = int(np.clip(round(cx - side / 2), 0, shape[1] - side))
    y0 = int(np.clip(round(cy - side / 2), 0, shape[0] - side))
    return x0, y0, side


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=1400)
    parser.add_argument("--keep", type=int, default=800)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    ASSETS.mkdir(parents=True, exist_ok=True)
    fit = MeshFitter()

    faces = sample_dcgan_faces(args.candidates, args.seed)
    fitted = [fit(face) for face in faces]
    usable = [i for i, (points, _) in enumerate(fitted) if points is not None]
    # Keep the faces the detector is most confident about: these are the most face-like samples.
    usable.sort(key=lambda i: -fitted[i][1])
    keep = sorted(usable[: args.keep])
    print(f"DCGAN: mesh found on {len(usable)}/{args.candidates}; keeping {len(keep)}")
    np.savez_compressed(ASSETS / "synthetic_faces.npz", images=faces[keep],
                        landmarks=np.stack([fitted[i][0] for i in keep]).astype(np.float16),
                        latent_seed=np.array(args.seed), latent_index=np.array(keep, dtype=np.int16))

    names, boxes, landmarks = [], [], []
    for name, image in real_photographs():
        points, _ = fit(image) if min(image.shape[:2]) >= 64 else fit(
            cv2.resize(image, (64, 64), interpolation=cv2.INTER_CUBIC))
        if points is None:
            print(f"photo {name}: no face mesh, skipped")
            continue
        scale = 1.0 if min(image.shape[:2]) >= 64 else image.shape[0] / 64
        points = points * scale if scale != 1.0 else points
        x0, y0, side = square_box_around(points, image.shape)
        names.append(name)
        boxes.append([x0, y0, side])
        landmarks.append((points - [x0, y0, 0]) / side)  # in units of the crop side
    print(f"photographs with a mesh: {len(names)}")
    np.savez_compressed(ASSETS / "photo_landmarks.npz", names=np.array(names), boxes=np.array(boxes, np.int16),
                        landmarks=np.stack(landmarks).astype(np.float16))

    triangles, oval, left_eye, right_eye, mouth = mesh_topology()
    np.savez_compressed(ASSETS / "face_mesh_topology.npz", triangles=triangles, face_oval=oval,
                        left_eye=left_eye, right_eye=right_eye, mouth=mouth)
    print(f"mesh: {len(triangles)} triangles")


if __name__ == "__main__":
    main()
