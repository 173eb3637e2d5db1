"""Timing shared by the benchmarks: median wall times of callables measured side by side."""
import statistics
import time

import torch


def median_seconds(runs: dict, repeats: int, device: torch.device, warmup: int = 2) -> dict:
    """Median wall time of each callable, the callables interleaved so drifts hit all of them alike."""
    def timed(fn):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for fn in runs.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            times[name].append(timed(fn))
    return {name: statistics.median(t) for name, t in times.items()}


def inference(model, x):
    """A callable running ``model(x)`` without autograd."""
    def run():
        with torch.inference_mode():
            model(x)
    return run
