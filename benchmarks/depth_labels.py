"""Time pseudo-depth labels on one CPU core, and the simulator around them.

    python benchmarks/depth_labels.py [--faces 200] [--repeats 3]

Prints a Markdown table for BENCHMARKS.md: milliseconds per depth label (median of repeats) for
label sizes 32x32 from 64 px faces (the course) and 32x32 from 256 px faces (CDCN at full scale),
and, for context, the time to render one whole presentation (bona fide frame and each attack), bare
(``render_presentation``'s defaults) and with the default benchmark's settings.
PRNet, the tool the CDCN authors point to, takes 1-2 s per image.
"""
import argparse
import statistics
import time

import cv2
import numpy as np
import torch

from faslearn.data import DOMAINS, PRESENTATIONS, BenchmarkConfig, depth_map, load_faces, render_presentation


def per_item_ms(fn, items, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - start) / len(items) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core, as the target is stated
    torch.set_num_threads(1)

    rows = []
    for image_size in (64, 256):
        faces = load_faces("synthetic", size=image_size, count=args.faces)
        ms = per_item_ms(lambda points: depth_map(points, image_size, 32), faces.landmarks, args.repeats)
        rows.append((f"depth label 32x32 from a {image_size} px face", ms))
    faces = load_faces("synthetic", count=min(args.faces, 50))
    worlds = {"bare": {}, "benchmark": BenchmarkConfig().render_settings()}  # moiré, furniture, print calibration
    for pai in PRESENTATIONS:
        for world, settings in worlds.items():
            rng = np.random.default_rng(0)
            ms = per_item_ms(lambda i: render_presentation(*faces[i], pai, "studio", rng, **settings),
                             range(len(faces)), 1)
            rows.append((f"render one 64 px {pai} frame (studio, {world})", ms))

    print(f"{len(DOMAINS)} domains; {args.faces} faces; median of {args.repeats} repeats; one CPU thread\n")
    print("| what | ms per item |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} |")


if __name__ == "__main__":
    main()
