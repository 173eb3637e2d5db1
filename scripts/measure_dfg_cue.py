"""What is in the De-fake Face Generator's residual? Spectra and band AUCs on the default benchmark.

    python scripts/measure_dfg_cue.py --out runs/dfg_cue/diagnostics.json [--dfg FOLDER] [--steps 8]

For the test presentations of every domain (none of them in the DFG's pool), the residual x − x̂ is
split by spatial frequency (radial bands of the 2-D spectrum, named by their period in pixels) and by
colour (luminance, the mean of R, G, B; green/magenta, G − (R + B)/2, the axis of the domains' moiré
fringes). Each band's energy is read as a liveness score (−energy, higher = bona fide) and its AUC
reported per domain and per attack species, for:

- the input itself (no generator: what any high-pass filter would give),
- the autoencoder alone, D(E(x)),
- the DFG at several strengths, with the input's own identity tokens, with none (the null context), and
  with the tokens of *another* capture of the same person (a bona fide capture that is not the probe: if
  the probe's own tokens carried its attack trace into x̂, this residual would separate better).

The mean log power of each band, per domain and presentation kind, shows whether the domains' fringes
(periods 5-8 px) reach the residual. Writes one JSON file; prints a summary.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import faslearn as fl  # noqa: E402
from faslearn.models.dfg import DeFakeFaceGenerator, to_model_range  # noqa: E402

# radial bands of the spectrum, by period in pixels: [longest, shortest)
BANDS = {"period>16": (np.inf, 16), "16-8": (16, 8), "8-4": (8, 4), "4-2": (4, 2)}
COLOURS = {"luma": torch.tensor([1 / 3, 1 / 3, 1 / 3]), "green_magenta": torch.tensor([-0.5, 1.0, -0.5])}


def band_masks(size: int) -> dict[str, torch.Tensor]:
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    radius = np.hypot(fy, fx)  # cycles per pixel; period = 1 / radius
    masks = {}
    for name, (longest, shortest) in BANDS.items():
        low = 0.0 if np.isinf(longest) else 1 / longest
        keep = (radius >= low) & (radius < 1 / shortest) & (radius > 0)
        masks[name] = torch.from_numpy(keep.astype(np.float32))
    return masks


def band_energies(residual: torch.Tensor) -> dict[str, np.ndarray]:
    """{colour/band: (B,) mean power} and {"total": mean squared residual}."""
    out = {"total": residual.pow(2).mean(dim=(1, 2, 3)).numpy()}
    masks = band_masks(residual.shape[-1])
    for colour, weights in COLOURS.items():
        plane = torch.einsum("bchw,c->bhw", residual.float(), weights)
        power = torch.fft.fft2(plane).abs().pow(2) / plane[0].numel()
        for band, mask in masks.items():
            out[f"{colour}/{band}"] = (power * mask).sum(dim=(1, 2)).numpy() / plane[0].numel()
    return out


def aucs(features: dict[str, np.ndarray], label, pai, domain) -> dict:
    table = {}
    for name, values in features.items():
        entry = {}
        for d in np.unique(domain):
            keep = domain == d
            entry[str(d)] = round(fl.metrics.auc(-values[keep], label[keep]), 4)
            entry[f"{d}/species"] = {str(k): round(fl.metrics.auc(-values[keep & ((pai == k) | (label == 1))],
                                                                  label[keep & ((pai == k) | (label == 1))]), 4)
                                     for k in np.unique(pai[keep & (label == 0)])}
        entry["mean"] = round(float(np.mean([entry[str(d)] for d in np.unique(domain)])), 4)
        table[name] = entry
    return table


def log_power(features: dict[str, np.ndarray], label, pai, domain) -> dict:
    out = {}
    for name, values in features.items():
        out[name] = {f"{d}/{k}": round(float(np.log10(values[(domain == d) & (pai == k)]).mean()), 4)
                     for d in np.unique(domain) for k in np.unique(pai)}
    return out


def other_capture(bench, rows: np.ndarray) -> np.ndarray:
    """For each row: a bona fide capture of the same person in the same split that is not the row itself."""
    out = []
    for row in rows:
        same = np.flatnonzero((bench.identity == bench.identity[row]) & (bench.label == 1)
                              & (bench.split == bench.split[row]))
        out.append(int(same[same != row][0]))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dfg", type=Path, default=None, help="a DFG folder (default: the shipped teaching DFG)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--strengths", default="0.25,0.5,0.75")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dfg = fl.pretrained.load_dfg() if args.dfg is None else DeFakeFaceGenerator.from_pretrained(args.dfg)
    bench = fl.data.make_benchmark(progress=False)
    rows = bench.select("test")
    label, pai, domain = bench.label[rows], bench.pai[rows], bench.domain[rows]
    images = to_model_range(bench.frames[rows, 0])
    others = to_model_range(bench.frames[other_capture(bench, rows), 0])
    strengths = [float(s) for s in args.strengths.split(",")]
    residuals = {"input itself": images, "autoencoder": images - dfg.decode(dfg.encode(images))}
    timings = {}
    for s in strengths:
        for mode in ("own identity", "null context", "other capture's identity"):
            start = time.perf_counter()
            x_hat = dfg.reconstruct(images, strength=s, steps=args.steps, conditioned=mode != "null context",
                                    identity_from=others if mode.startswith("other") else None, progress=True)
            timings[f"dfg {s} {mode}"] = round(time.perf_counter() - start, 1)
            residuals[f"dfg {s} {mode}"] = images - x_hat
    result = {"benchmark": bench.config.key(), "steps": args.steps, "presentations": len(rows),
              "seconds": timings, "auc": {}, "log10_power": {}}
    for name, residual in residuals.items():
        features = band_energies(residual)
        result["auc"][name] = aucs(features, label, pai, domain)
        result["log10_power"][name] = log_power(features, label, pai, domain)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, separators=(",", ":")))
    for name, table in result["auc"].items():
        best = max(table, key=lambda k: abs(table[k]["mean"] - 0.5))
        print(f"{name:>34}: total {table['total']['mean']:.3f} | "
              + " ".join(f"{d[:3]} {table['total'][d]:.2f}" for d in bench.config.domains)
              + f" | farthest from chance: {best} {table[best]['mean']:.3f}")


if __name__ == "__main__":
    main()
