"""OA-Net's cost against the plain ViT it extends and the dual-branch network, and the cue's cost per face.

Measures, in one run with warm-up and interleaved repeats (median times), in eval mode under
torch.inference_mode, at the course size (64 px, patch 8, width 96, depth 4, a convolutional stem, the CNN
cue encoder) and at the paper's (ViT-B/16 at 224 px with a ResNet-18 cue encoder; ``--no-full`` skips it):
  (a) parameters: the ViT, OA-Net's cue encoder and cross-attention (their share), the dual-branch network;
  (b) latency per face at batch 1 and throughput at ``--batch``, and OA-Net / ViT as a ratio;
  (c) the cue: the teaching DFG's reconstruction per face at each ``--strengths`` (8 DDIM steps over the
      schedule, strength x 8 of them run) at batch 64, against the autoencoder alone.
Prints Markdown tables; ``--json`` writes every number.

    python benchmarks/oanet_speed.py [--batch 32] [--repeats 5] [--threads 2] [--json runs/oanet_speed.json]
"""
import argparse
import json
import platform
from pathlib import Path

import torch
from _timing import inference, median_seconds  # benchmarks/_timing.py

from faslearn.models import DualBranch, OANet, ViT


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def model_rows(size: str, args) -> list[dict]:
    torch.manual_seed(0)
    if size == "course":
        s, vit, oanet, dual = 64, ViT(), OANet(), DualBranch()  # the course sweep's: width 96, depth 4, conv stem
    else:
        s, vit, oanet = 224, ViT(224, 16, 768, 12, 12, 4.0, stem="patch"), OANet.full_size()
        dual = DualBranch(224, 16, 768, 12, 12, 4.0, stem="patch")
    cross = sum(count(m) for b in oanet.vit.blocks for m in (b.cross, b.norm_cross, b.norm_cue))
    batch = args.batch if size == "course" else max(1, args.batch // 8)
    nets = {"ViT": (vit.eval(), 3), "OA-Net": (oanet.eval(), 6), "dual-branch": (dual.eval(), 6)}
    runs = {}
    for name, (net, channels) in nets.items():
        runs[f"{name} b1"] = inference(net, torch.randn(1, channels, s, s))
        runs[f"{name} b{batch}"] = inference(net, torch.randn(batch, channels, s, s))
    seconds = median_seconds(runs, args.repeats, torch.device("cpu"), warmup=1)
    rows = []
    for name, (net, _) in nets.items():
        rows.append({"size": size, "model": name, "parameters": count(net),
                     "cue_encoder": count(net.cue_encoder) if name == "OA-Net" else None,
                     "cross_attention": cross if name == "OA-Net" else None,
                     "ms_batch1": 1000 * seconds[f"{name} b1"],
                     "ms_per_face_batched": 1000 * seconds[f"{name} b{batch}"] / batch, "batch": batch})
    return rows


def cue_rows(args) -> list[dict]:
    import faslearn as fl
    from faslearn.models.dfg import to_model_range

    dfg = fl.pretrained.load_dfg()
    bench = fl.data.make_benchmark(progress=False)
    images = to_model_range(bench.frames[:64, 0])
    runs = {"autoencoder": lambda: dfg.decode(dfg.encode(images))}
    for s in args.strengths:
        runs[f"dfg {s}"] = (lambda s=s: dfg.reconstruct(images, strength=s, steps=8))
    seconds = median_seconds(runs, args.repeats, torch.device("cpu"), warmup=1)
    return [{"cue": name, "unet_steps": 0 if name == "autoencoder" else len(dfg.start_step(float(name[4:]), 8)),
             "ms_per_face": 1000 * t / len(images)} for name, t in seconds.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--no-full", action="store_true", help="skip the paper-size networks")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = model_rows("course", args) + ([] if args.no_full else model_rows("paper", args))
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}\n")
    print("| size | model | parameters | cue encoder | cross-attention | ms / face, batch 1 | ms / face, batched |")
    print("|---|---|---|---|---|---|---|")
    def number(value):
        return "" if value is None else f"{value:,}"

    for r in rows:
        print(f"| {r['size']} | {r['model']} | {r['parameters']:,} | {number(r['cue_encoder'])} | "
              f"{number(r['cross_attention'])} | {r['ms_batch1']:.1f} | {r['ms_per_face_batched']:.2f} "
              f"(batch {r['batch']}) |")
    for size in ("course", "paper"):
        pair = {r["model"]: r for r in rows if r["size"] == size}
        if pair:
            oanet, vit = pair["OA-Net"], pair["ViT"]
            print(f"\n{size}: OA-Net / ViT latency at batch 1 {oanet['ms_batch1'] / vit['ms_batch1']:.2f}x, "
                  f"batched {oanet['ms_per_face_batched'] / vit['ms_per_face_batched']:.2f}x; cross-attention "
                  f"{oanet['cross_attention'] / oanet['parameters']:.1%} and cue encoder "
                  f"{oanet['cue_encoder'] / oanet['parameters']:.1%} of OA-Net's parameters")
    cues = cue_rows(args)
    print("\n| cue (teaching DFG, 64 px, batch 64) | UNet steps run | ms / face |\n|---|---|---|")
    for r in cues:
        print(f"| {r['cue']} | {r['unet_steps']} | {r['ms_per_face']:.1f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"models": rows, "cue": cues, "threads": args.threads}, indent=1))


if __name__ == "__main__":
    main()
