"""De-fake Face Generator speed: what a reconstruction costs against DDIM steps and batch size, what
caching the cue of a whole benchmark costs, and how large the teaching checkpoint is.

Measures, in one run with warm-up and interleaved repeats (median times), under torch.no_grad:
  (a) reconstruction latency per image at --strength for each DDIM step count in --steps and batch size
      in --batch, with and without identity tokens (the identity encoder's forward is the difference);
  (b) its parts per image at the largest batch: autoencoder encode, decode, one UNet step, identity tokens;
  (c) the time to reconstruct the first frame of every presentation of the course benchmark (4,800) at
      the default 20 steps, extrapolated from (a), and measured with --full;
  (d) the size of every file of the shipped DFG;
  (e) one training step of the autoencoder (batch 16, 64 px) with GroupNorm groups of 1 channel at the first
      level (faslearn's choice) against groups of 4 channels (Stable Diffusion's 32 groups, scaled down).
The models are the shipped teaching DFG (fl.pretrained.load_dfg). Prints Markdown tables; --json writes
every number.

    python benchmarks/dfg_speed.py [--steps 10 20 50] [--batch 1 16 64] [--strength 0.6] [--repeats 5]
        [--threads 2] [--device cpu cuda] [--full] [--json runs/dfg_speed.json]
"""
import argparse
import json
import platform
import time

import torch
from _timing import median_seconds  # benchmarks/_timing.py

import faslearn as fl

BENCHMARK_IMAGES = 4800  # presentations of the default course benchmark


def latency_rows(dfg, args, images) -> list[dict]:
    rows = []
    for batch in args.batch:
        x = images[:batch]
        runs = {(steps, conditioned): (lambda s=steps, c=conditioned: dfg.reconstruct(
            x, strength=args.strength, steps=s, conditioned=c, batch_size=batch))
            for steps in args.steps for conditioned in (True, False)}
        times = median_seconds(runs, args.repeats, dfg.device, warmup=1)
        for (steps, conditioned), seconds in times.items():
            rows.append({"batch": batch, "ddim_steps": steps, "conditioned": conditioned,
                         "unet_steps_run": len(dfg.start_step(args.strength, steps)),
                         "ms_per_image": 1000 * seconds / batch})
    return rows


def part_rows(dfg, args, images) -> dict:
    x = images[:max(args.batch)]
    z = dfg.encode(x)
    context = dfg.context(x)
    t = dfg.start_step(args.strength, 20)[0]
    runs = {"encode": lambda: dfg.encode(x), "decode": lambda: dfg.decode(z), "identity tokens": lambda: dfg.context(x),
            "one UNet step": lambda: dfg.unet(z, t, encoder_hidden_states=context)}
    with torch.no_grad():
        times = median_seconds(runs, args.repeats, dfg.device)
    return {name: 1000 * seconds / len(x) for name, seconds in times.items()}


def groupnorm_rows(args) -> dict:
    """Seconds per autoencoder training step: one channel per GroupNorm group at the first level (16
    groups) against four (4 groups), the same widths otherwise."""
    from diffusers import AutoencoderKL

    x = torch.randn(16, 3, 64, 64)

    def step(groups):
        model = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32, 64),
                              down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                              layers_per_block=1, norm_num_groups=groups, mid_block_add_attention=False)
        return lambda: model(x).sample.square().mean().backward()

    times = median_seconds({"1 channel per group": step(16), "4 channels per group": step(4)},
                           args.repeats, torch.device("cpu"), warmup=1)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20, 50])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--strength", type=float, default=0.6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", nargs="+", default=["cpu"])
    parser.add_argument("--full", action="store_true", help="also time the whole benchmark's cue cache")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = fl.data.make_benchmark(progress=False)
    report = {"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
              "strength": args.strength, "devices": {}}
    folder = fl.pretrained.FOLDER / fl.pretrained.REGISTRY["dfg_teaching"]["folder"]
    report["checkpoint_bytes"] = {name: (folder / name).stat().st_size
                                  for name in fl.pretrained.REGISTRY["dfg_teaching"]["files"]}
    for name in args.device:
        device = torch.device(name)
        dfg = fl.pretrained.load_dfg().to(device)
        images = fl.models.dfg.to_model_range(bench.frames[:max(args.batch), 0])
        rows = latency_rows(dfg, args, images)
        result = {"latency": rows, "parts_ms_per_image": part_rows(dfg, args, images)}
        default = [r for r in rows if r["batch"] == max(args.batch) and r["ddim_steps"] == 20 and r["conditioned"]]
        if default:
            result["benchmark_cache_estimate_s"] = default[0]["ms_per_image"] * BENCHMARK_IMAGES / 1000
        if args.full:
            start = time.perf_counter()
            fl.models.dfg.benchmark_reconstructions(dfg, bench, strength=args.strength, cache=False)
            result["benchmark_cache_measured_s"] = time.perf_counter() - start
        report["devices"][name] = result

        print(f"\n### {name} ({report['machine']}, {report['threads']} threads), strength {args.strength}\n")
        print("| batch | DDIM steps (run) | ms / image, identity tokens | ms / image, null context |")
        print("|---|---|---|---|")
        for batch in args.batch:
            for steps in args.steps:
                pair = {r["conditioned"]: r for r in rows if r["batch"] == batch and r["ddim_steps"] == steps}
                print(f"| {batch} | {steps} ({pair[True]['unet_steps_run']}) | {pair[True]['ms_per_image']:.1f} | "
                      f"{pair[False]['ms_per_image']:.1f} |")
        print("\nparts, ms per image at batch", max(args.batch), ":",
              ", ".join(f"{k} {v:.2f}" for k, v in result["parts_ms_per_image"].items()))
        if "benchmark_cache_estimate_s" in result:
            print(f"cue cache of the whole benchmark ({BENCHMARK_IMAGES} images, 20 steps): "
                  f"≈ {result['benchmark_cache_estimate_s']:.0f} s estimated"
                  + (f", {result['benchmark_cache_measured_s']:.0f} s measured" if args.full else ""))
    report["groupnorm_step_s"] = groupnorm_rows(args)
    one, four = report["groupnorm_step_s"].values()
    print(f"\nautoencoder training step, batch 16, CPU: {one:.2f} s with 1 channel per GroupNorm group, "
          f"{four:.2f} s with 4 (ratio {four / one:.1f}x)")
    total = sum(report["checkpoint_bytes"].values())
    print(f"\nteaching checkpoint: {total / 2 ** 20:.1f} MiB in {len(report['checkpoint_bytes'])} files")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
