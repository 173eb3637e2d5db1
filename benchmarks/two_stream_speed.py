"""Two-stream model speed against the clip length T, and what the clip pre-processing costs.

Measures, in one run with warm-up and interleaved repeats (median times), in eval mode under
torch.inference_mode:
  (a) per-clip latency (batch 1) and throughput (clips/s at --batch) of the multi-frame branch
      (CNN + Bi-LSTMs), the RGB-difference branch (fed the clip, so rgb_differences is included) and
      the fused TwoStream, for each clip length T in --frames, on each --device;
  (b) a least-squares line through latency against T per model: ms per extra frame and intercept;
  (c) the pre-processing of one clip of --clip-frames rendered bona fide frames (studio domain) at
      64 and 256 px: register_clip, key_frames (k = T-1 and k = 4) and optical_flow (DIS).
Prints Markdown tables; --json writes every number. At the defaults most of the run is the 256 px
pre-processing (rendering one 10-frame 256 px clip takes seconds); --clips 0 skips it.

    python benchmarks/two_stream_speed.py [--frames 2 3 5 8 10 16] [--image-size 64] [--width 1.0]
        [--batch 16] [--repeats 10] [--threads 1] [--device cpu cuda] [--json runs/two_stream_speed.json]
"""
import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _timing import inference, median_seconds  # benchmarks/_timing.py

from faslearn.data import key_frames, load_faces, optical_flow, register_clip, render_presentation
from faslearn.models.two_stream import DifferenceBranch, MultiFrameBranch, TwoStream, parameter_count
from faslearn.utils import seed_everything

MODELS = ("multi-frame", "difference", "two-stream")


def model_rows(args, device: torch.device) -> list:
    """One dict per T: batch-1 latency (ms) and clips/s at args.batch for each of MODELS."""
    multi = MultiFrameBranch(width=args.width).to(device).eval()  # the same weights for every T
    rows = []
    for t in args.frames:
        difference = DifferenceBranch(in_channels=3 * (t - 1), width=args.width).to(device).eval()
        models = dict(zip(MODELS, (multi, difference, TwoStream(multi, difference).eval())))
        runs = {}
        for batch in (1, args.batch):
            clip = torch.rand(batch, t, 3, args.image_size, args.image_size, device=device) * 2 - 1
            runs.update({(name, batch): inference(model, clip) for name, model in models.items()})
        seconds = median_seconds(runs, args.repeats, device)
        rows.append({"frames": t,
                     "latency_ms": {name: 1000 * seconds[name, 1] for name in MODELS},
                     "clips_per_s": {name: args.batch / seconds[name, args.batch] for name in MODELS},
                     "parameters": {name: parameter_count(m) for name, m in models.items()}})
    return rows


def latency_fit(rows: list) -> dict:
    """Least-squares latency = intercept + slope · T per model (exact through two points, none for one).

    Expect the difference branch's slope to be a small fraction of the multi-frame branch's. The
    difference branch stacks the T-1 differences as 3(T-1) channels of ONE image, so only its first
    conv (3(T-1) -> 16 channels, 3x3, stride 2) and the subtraction grow with T, by 16·3·9·(H/2)(W/2)
    multiply-adds per extra frame; everything after that first conv (the rest of MobileNetV3, FPM, PPM,
    linear) sees one 16-channel map whatever T is. The multi-frame branch runs the whole backbone,
    FPM and PPM once per frame (B·T images) and its Bi-LSTMs take T steps, so its slope is about one
    frame's full pass and its intercept about the fixed costs (classifier, Python overhead).
    """
    frames = np.array([row["frames"] for row in rows], dtype=float)
    if len(set(frames)) < 2:
        return {}
    fit = {}
    for name in MODELS:
        slope, intercept = np.polyfit(frames, [row["latency_ms"][name] for row in rows], 1)
        fit[name] = {"ms_per_frame": float(slope), "intercept_ms": float(intercept)}
    return fit


def preprocess_rows(args) -> list:
    """Median ms per clip of each pre-processing step, over args.clips rendered clips × args.repeats."""
    rows = []
    for size in (64, 256):
        faces = load_faces("synthetic", size=size, count=args.clips)
        clips = [render_presentation(faces.images[i], faces.landmarks[i], "bona_fide", "studio",
                                     np.random.default_rng(i), num_frames=args.clip_frames).frames
                 for i in range(args.clips)]
        registered = [register_clip(clip).frames for clip in clips]  # also warms OpenCV up
        steps = {"register_clip": lambda i: register_clip(clips[i]),
                 f"key_frames, k = {args.clip_frames - 1}": lambda i: key_frames(registered[i], args.clip_frames - 1),
                 "key_frames, k = 4": lambda i: key_frames(registered[i], 4),
                 "optical_flow (DIS)": lambda i: optical_flow(registered[i], "dis")}
        times = {name: [] for name in steps}
        for _ in range(args.repeats):
            for i in range(args.clips):
                for name, step in steps.items():  # interleaved, like the models
                    start = time.perf_counter()
                    step(i)
                    times[name].append(1000 * (time.perf_counter() - start))
        rows += [{"size": size, "step": name, "ms_per_clip": statistics.median(t)} for name, t in times.items()]
    return rows


def machine(devices) -> dict:
    """The CPU (its model name from /proc/cpuinfo where there is one), versions and thread counts."""
    cpu, logical = platform.processor() or platform.machine(), None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu, logical = (names[0], len(names)) if names else (cpu, None)
    info = {"cpu": cpu, "logical_cpus": logical, "python": platform.python_version(), "torch": torch.__version__,
            "opencv": cv2.__version__, "torch_threads": torch.get_num_threads(), "opencv_threads": cv2.getNumThreads()}
    if any(d.type == "cuda" for d in devices):
        info["gpu"] = torch.cuda.get_device_name()
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[2, 3, 5, 8, 10, 16], help="clip lengths T (>= 2)")
    parser.add_argument("--image-size", type=int, default=64, help="frame size in px (the paper: 224)")
    parser.add_argument("--width", type=float, default=1.0, help="MobileNetV3-Small width multiplier")
    parser.add_argument("--batch", type=int, default=16, help="batch for the throughput column")
    parser.add_argument("--repeats", type=int, default=10, help="timed repeats (median), after 2 warm-up runs")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and cv2.setNumThreads")
    parser.add_argument("--device", nargs="+", default=None,
                        help="devices for the models (default: cpu, and cuda when available)")
    parser.add_argument("--clips", type=int, default=5, help="rendered clips for the pre-processing (0: skip it)")
    parser.add_argument("--clip-frames", type=int, default=10, help="frames per clip for the pre-processing")
    parser.add_argument("--json", type=Path, default=None, help="write every number to this JSON file")
    args = parser.parse_args()
    if min(args.frames) < 2 or args.clip_frames < 5:
        parser.error("--frames must all be >= 2 and --clip-frames >= 5 (k = 4 needs 5 key frames)")

    seed_everything(0)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    devices = [torch.device(d) for d in (args.device or ["cpu"] + ["cuda"] * torch.cuda.is_available())]
    info = machine(devices)
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print(f"{args.image_size} px, width {args.width}, batch 1 and {args.batch}, "
          f"median of {args.repeats} interleaved repeats\n")

    results = {"machine": info, "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
               "models": {}}
    for device in devices:
        rows = model_rows(args, device)
        fit = latency_fit(rows)
        results["models"][str(device)] = {"rows": rows, "latency_fit": fit}
        print(f"| {device}: T | " + " | ".join(f"{m} ms" for m in MODELS) + " | "
              + " | ".join(f"{m} clips/s" for m in MODELS) + " |\n|" + "---|" * 7)
        for row in rows:
            print(f"| {row['frames']} | " + " | ".join(f"{row['latency_ms'][m]:.1f}" for m in MODELS) + " | "
                  + " | ".join(f"{row['clips_per_s'][m]:.1f}" for m in MODELS) + " |")
        if fit:
            print("\nleast-squares latency: " + "; ".join(
                f"{m} {f['intercept_ms']:.1f} ms {'+' if f['ms_per_frame'] >= 0 else '−'} "
                f"{abs(f['ms_per_frame']):.2f} ms × T" for m, f in fit.items()))
        print()

    if args.clips > 0:
        results["preprocess"] = preprocess_rows(args)
        print(f"| pre-processing, one clip of {args.clip_frames} frames | px | median ms per clip |\n|---|---|---|")
        for row in results["preprocess"]:
            print(f"| {row['step']} | {row['size']} | {row['ms_per_clip']:.2f} |")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
