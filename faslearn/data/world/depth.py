"""Pseudo-depth labels rasterized from 3D face landmarks, in milliseconds.

CDCN-style depth supervision needs a depth map for every bona fide training face (attacks get
all zeros: a print or a screen is flat). The usual recipe fits PRNet to every frame, which takes
1-2 s per image. Here the 478 FaceMesh landmarks already carry depth, so a label is one
z-buffer pass over the mesh's 900 triangles:

    for every pixel p inside triangle (a, b, c):  z(p) = λ_a z_a + λ_b z_b + λ_c z_c,
    with λ the barycentric coordinates of p, keeping the triangle nearest to the camera.

The same rasterizer also gives, for each pixel, which triangle covers it and where: that is all
``faslearn.data.world.video`` needs to warp a face to a new 3D pose.
"""
import cv2
import numpy as np

from .faces import mesh_topology


def rasterize(points: np.ndarray, size: int, triangles: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffer the face mesh. Returns ``(triangle_id, barycentric)`` per pixel of a size x size grid.

    ``points`` are (V, 3) landmarks in pixels (z negative towards the camera). ``triangle_id`` is -1
    where no triangle covers the pixel centre. Painter's algorithm: triangles are filled from the
    farthest to the nearest with OpenCV's polygon filler, so the nearest one wins.
    """
    triangles = mesh_topology()["triangles"] if triangles is None else triangles
    corners = points[triangles]  # (T, 3 corners, 3 coords)
    order = np.argsort(-corners[..., 2].mean(axis=1))  # far (large z) first
    ids = np.full((size, size), -1, dtype=np.int32)
    # Pixel i covers [i, i+1): its centre is i + 0.5. OpenCV puts centres on integers, hence -0.5.
    fixed = np.round((corners[..., :2] - 0.5) * 16).astype(np.int32)  # 4 fractional bits (shift=4)
    for t in order:
        cv2.fillConvexPoly(ids, fixed[t], int(t), lineType=cv2.LINE_8, shift=4)

    # Barycentric coordinates of each covered pixel centre in its triangle:
    # p = a + λ_b (b - a) + λ_c (c - a)  ->  solve the 2x2 system per triangle.
    ys, xs = np.nonzero(ids >= 0)
    tri = ids[ys, xs]
    a, b, c = corners[tri, 0, :2], corners[tri, 1, :2], corners[tri, 2, :2]
    p = np.stack([xs + 0.5, ys + 0.5], axis=1)
    e1, e2, d = b - a, c - a, p - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    det = np.where(np.abs(det) < 1e-9, 1e-9, det)
    lam_b = (d[:, 0] * e2[:, 1] - d[:, 1] * e2[:, 0]) / det
    lam_c = (e1[:, 0] * d[:, 1] - e1[:, 1] * d[:, 0]) / det
    # Pixels the filler touched whose centre lies just outside (tiny triangles): clamp into it.
    lam = np.clip(np.stack([1 - lam_b - lam_c, lam_b, lam_c], axis=1), 0, None)
    lam /= lam.sum(axis=1, keepdims=True)
    barycentric = np.zeros((size, size, 3), dtype=np.float32)
    barycentric[ys, xs] = lam
    return ids, barycentric


def depth_map(landmarks: np.ndarray, image_size: int, map_size: int | None = None,
              face_floor: float = 0.3) -> np.ndarray:
    """Pseudo-depth label of a bona fide face: (map_size, map_size) float32 in [0, 1].

    Background is 0; the face spans ``[face_floor, 1]``, 1 at the point nearest the camera (nose
    tip), so the silhouette stands out as in PRNet labels. The mesh is rasterized at 4 samples per
    label pixel in each direction (or at the image resolution, if smaller) and area-averaged down to
    ``map_size`` (default image_size // 8, CDCN's ratio).
    """
    map_size = map_size or image_size // 8
    if landmarks.ndim != 2 or landmarks.shape[1] != 3:
        raise ValueError(f"landmarks must have shape (V, 3), got {landmarks.shape}")
    render_size = min(image_size, 4 * map_size)
    ids, barycentric = rasterize(landmarks * (render_size / image_size), render_size)
    triangles = mesh_topology()["triangles"]
    z = landmarks[:, 2]
    nearness = (z.max() - z) / max(z.max() - z.min(), 1e-6)  # 1 at the nose tip, 0 farthest
    covered = ids >= 0
    depth = np.zeros((render_size, render_size), dtype=np.float32)
    depth[covered] = (barycentric[covered] * nearness[triangles[ids[covered]]]).sum(axis=1)
    depth[covered] = face_floor + (1 - face_floor) * depth[covered]
    if map_size != render_size:
        depth = cv2.resize(depth, (map_size, map_size), interpolation=cv2.INTER_AREA)
    return depth
