"""Registration anchored on the face's rigid landmarks against Shi-Tomasi corners over the whole crop.

    python scripts/compare_registration.py [--out runs/registration_anchors.json]

For every clip of the two-stream sweep's benchmark (today's default world, 10 frames), the mean absolute
difference of consecutive frames (``registration_residual``) after registration divided by the same before
it: over the whole crop, and inside the face (the box around frame 0's landmarks). Reported per
presentation species as the median ratio over clips, with how often registration fell back to the identity.
A ratio below 1: registration took motion away; the live face should keep more (3D motion, blinks) than a
print, which moves as a plane.
"""
import argparse
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import faslearn as fl


def face_box(landmarks: np.ndarray, side: int) -> tuple[slice, slice]:
    """Rows and columns of frame 0's landmark bounding box, clipped to the frame."""
    (x0, y0), (x1, y1) = np.floor(landmarks.min(0)).astype(int), np.ceil(landmarks.max(0)).astype(int)
    return slice(max(y0, 0), min(y1, side)), slice(max(x0, 0), min(x1, side))


def residual(frames: np.ndarray, box: tuple[slice, slice] | None = None) -> float:
    crop = frames if box is None else frames[:, box[0], box[1]]
    return float(fl.data.registration_residual(crop).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/registration_anchors.json")
    args = parser.parse_args()
    bench = fl.data.make_benchmark(num_frames=10)
    side = bench.frames.shape[2]
    rows = []
    for row in tqdm(range(len(bench)), desc="registering", unit="clip"):
        clip = bench.frames[row]
        box = face_box(bench.landmarks[row], side)
        before = (residual(clip), residual(clip, box))
        entry = {"pai": str(bench.pai[row]), "domain": str(bench.domain[row])}
        for name in fl.data.ANCHORS:
            points, box = bench.anchors(row) if name == "landmarks" else (None, None)
            registered = fl.data.register_face(clip, points, box)  # what prepare_clips does
            entry[name] = {"crop": residual(registered.frames) / before[0],
                           "face": residual(registered.frames, box) / before[1],
                           "fallback": float(registered.fallback[1:].mean())}
        rows.append(entry)
    summary = {}
    for pai in sorted(set(r["pai"] for r in rows)):
        mine = [r for r in rows if r["pai"] == pai]
        summary[pai] = {name: {part: float(np.median([r[name][part] for r in mine])) for part in ("crop", "face")}
                        | {"fallback": float(np.mean([r[name]["fallback"] for r in mine]))}
                        for name in fl.data.ANCHORS} | {"clips": len(mine)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"made_by": "python scripts/compare_registration.py", "summary": summary},
                                         indent=1))
    print(f"{'species':14s} {'landmarks: crop':>16s} {'face':>6s} {'features: crop':>15s} {'face':>6s}")
    for pai, s in summary.items():
        print(f"{pai:14s} {s['landmarks']['crop']:16.2f} {s['landmarks']['face']:6.2f} "
              f"{s['features']['crop']:15.2f} {s['features']['face']:6.2f}")


if __name__ == "__main__":
    main()
