"""What does the real-data path cost: face detection and alignment, the crop cache, ONNX inference?

Measured in one run, on frames made from a public-domain photograph (the astronaut, scikit-image):
  (a) per frame, the default Haar detector (face, then eyes) and the alignment, at camera sizes
      (320×240, 640×480, 1280×720: frames above 640 px are shrunk for detection);
  (b) the crop cache: a tiny dataset tree of short videos (tests/dataset_trees.py, the layout the tests
      use) prepared with 1 and with 2 worker processes, videos/s, and a second call that only loads;
  (c) inference of the folded CDCN, PyTorch against onnxruntime on the exported file (needs
      ``pip install "faslearn[onnx]"``), batch 1 and 4 at 256 px, width 1.0.
Prints Markdown tables. About 3 minutes on 2 idle CPU cores:

    python benchmarks/real_data_speed.py --repeats 20
"""
import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import torch
from _timing import inference, median_seconds  # benchmarks/_timing.py

from faslearn.data import align_face, get_detector, load_recordings, prepare_crops
from faslearn.losses import DEPTH
from faslearn.models import CDCN, fold_cdc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from dataset_trees import make_tree  # the fixture trees of the tests


def camera_frame(width: int, height: int) -> np.ndarray:
    """The astronaut's head and shoulders in a (height, width) RGB frame, as a webcam would frame them
    (a window of the photograph with the frame's aspect ratio, resized)."""
    photo = skimage.data.astronaut()  # 512 × 512, the face box about (177, 66, 95, 95)
    window = photo[10:10 + round(512 * height / width), :]
    return cv2.resize(window, (width, height), interpolation=cv2.INTER_AREA if width < 512 else cv2.INTER_CUBIC)


def detection_table(repeats: int) -> None:
    detector = get_detector("haar")
    print("| frame | detect (face + eyes) | align to 256 px | eyes found |")
    print("|---|---|---|---|")
    for width, height in ((320, 240), (640, 480), (1280, 720)):
        frame = camera_frame(width, height)
        face = detector.detect(frame)[0]
        times = median_seconds({"detect": lambda: detector.detect(frame),
                                "align": lambda: align_face(frame, face, 256)}, repeats, torch.device("cpu"))
        print(f"| {width}×{height} | {1e3 * times['detect']:.1f} ms | {1e3 * times['align']:.2f} ms | "
              f"{'yes' if face.eyes else 'no'} |")


def cache_table() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = make_tree("siw", Path(folder) / "SiW")  # 56 videos of 3 frames
        # each video listed 4 times under other ids (so other cache files): enough work for 2 processes
        recordings = [replace(r, video=f"{r.video}#{copy}") for copy in range(4) for r in load_recordings("siw", root)]
        print(f"\n{len(recordings)} SiW-layout videos (160×120, 3 frames each), 3 frames cropped per video "
              "to 256 px. Workers are forked from a fork server that imported faslearn once:\n")
        print("| run | seconds | videos/s |")
        print("|---|---|---|")
        runs = (("1 worker", 1, "one"), ("2 workers, the first pool (starts the fork server)", 2, "two"),
                ("2 workers, a later pool", 2, "three"), ("second call (cached)", 1, "one"))
        for label, workers, cache in runs:
            start = time.perf_counter()
            prepare_crops(recordings, Path(folder) / cache, size=256, frames=3, workers=workers, progress=False)
            seconds = time.perf_counter() - start
            print(f"| {label} | {seconds:.2f} | {len(recordings) / seconds:.1f} |")


def onnx_table(repeats: int) -> None:
    try:
        import onnxruntime

        from faslearn.export import export_onnx
    except ImportError:
        print('skipped: pip install "faslearn[onnx]" for onnxruntime')
        return
    torch.manual_seed(0)
    model = CDCN(theta=0.7, width=1.0).eval()
    folded = fold_cdc(model).eval()
    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(model, DEPTH, Path(folder) / "cdcn.onnx", 256)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same cores as PyTorch
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        print(f"\nCDCN (width 1.0, θ 0.7) at 256 px, {torch.get_num_threads()} threads each:\n")
        print("| batch | PyTorch, CDC | PyTorch, folded | onnxruntime (folded) | folded PyTorch / onnxruntime |")
        print("|---|---|---|---|---|")
        for batch in (1, 4):
            x = torch.rand(batch, 3, 256, 256) * 2 - 1
            feed = {"image": x.numpy()}
            times = median_seconds({"cdc": inference(model, x), "folded": inference(folded, x),
                                    "onnx": lambda: session.run(None, feed)}, repeats, torch.device("cpu"), warmup=1)
            print(f"| {batch} | {1e3 * times['cdc']:.0f} ms | {1e3 * times['folded']:.0f} ms | "
                  f"{1e3 * times['onnx']:.0f} ms | {times['folded'] / times['onnx']:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--parts", nargs="+", choices=("a", "b", "c"), default=["a", "b", "c"])
    args = parser.parse_args()
    cv2.setNumThreads(torch.get_num_threads())
    if "a" in args.parts:
        print(f"(a) face detection and alignment, median of {args.repeats}:\n")
        detection_table(args.repeats)
    if "b" in args.parts:
        print("\n(b) the crop cache:")
        cache_table()
    if "c" in args.parts:
        print("\n(c) ONNX inference:")
        onnx_table(max(3, args.repeats // 5))


if __name__ == "__main__":
    main()
