"""What domain generalisation costs a training step, and what it costs at test time (nothing).

Measures, in one run with warm-up and interleaved repeats (median times), on the CPU at the course size (64 px; the
sweep's ViT: width 96, depth 4, a convolutional stem; OA-Net with the CNN cue encoder; torchvision's ResNet-18):
  (a) one training step (forward, loss, backward, AdamW step) at ``--batch`` for plain training (ERM), SSDG and
      domain-adversarial training (DANN) on each backbone, and SSDG / ERM as a ratio;
  (b) inference per face at ``--batch``: a domain-generalised network drops its discriminator at test time, so its
      cost is the backbone's plus SSDG's embedder;
  (c) one masked-image-modelling pre-training step of the ViT (batch ``--batch``), against a fine-tuning step.
Prints Markdown tables; ``--json`` writes every number.

    python benchmarks/dg_speed.py [--batch 32] [--repeats 5] [--threads 2] [--json runs/dg_speed.json]
"""
import argparse
import json
import platform
from pathlib import Path

import torch
from _timing import inference, median_seconds  # benchmarks/_timing.py

from faslearn.losses import BINARY, DANN, SSDG
from faslearn.models import MaskedImageModel, ViT, create_model

VIT = dict(image_size=64, patch_size=8, width=96, depth=4, heads=4, stem="conv")
BACKBONES = {"ResNet-18": ("resnet18", {}, 3), "ViT": ("vit", VIT, 3), "OA-Net": ("oanet", {**VIT, "cue_dim": 96}, 6)}


def training_step(net, objective, x, batch):
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-4)

    def run():
        loss = objective.loss(net(x), batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    batch = {"label": torch.randint(0, 2, (args.batch,), generator=g),
             "domain_index": torch.randint(0, 3, (args.batch,), generator=g)}
    steps, tests, nets = {}, {}, {}
    for label, (name, settings, channels) in BACKBONES.items():
        x = torch.rand(args.batch, channels, 64, 64, generator=g) * 2 - 1
        for objective, prefix, loss in (("ERM", "", BINARY), ("SSDG", "ssdg_", SSDG), ("DANN", "dann_", DANN)):
            torch.manual_seed(0)
            net = create_model(prefix + name, **settings).train()
            nets[(label, objective)] = net
            steps[(label, objective)] = training_step(net, loss, x, batch)
            tests[(label, objective)] = inference(net.eval(), x)
            net.train()
    x = torch.rand(args.batch, 3, 64, 64, generator=g) * 2 - 1
    mim = MaskedImageModel(ViT(**VIT))
    mask = mim.random_mask(args.batch, g)
    optimiser = torch.optim.AdamW(mim.parameters(), lr=1e-4)

    def mim_step():
        loss = mim(x, mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    steps[("ViT", "masked image modelling")] = mim_step
    step_seconds = median_seconds(steps, args.repeats, torch.device("cpu"), warmup=1)
    for net in nets.values():
        net.eval()
    test_seconds = median_seconds(tests, args.repeats, torch.device("cpu"), warmup=1)
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}, "
          f"batch {args.batch}\n")
    print("| backbone | objective | ms per training step | / ERM | ms per face at test |")
    print("|---|---|---|---|---|")
    rows = []
    for (label, objective), seconds in step_seconds.items():
        erm = step_seconds[(label, "ERM")]
        test = test_seconds.get((label, objective))
        rows.append({"backbone": label, "objective": objective, "ms_step": 1000 * seconds, "ratio": seconds / erm,
                     "ms_per_face_test": None if test is None else 1000 * test / args.batch})
        print(f"| {label} | {objective} | {1000 * seconds:.0f} | {seconds / erm:.2f} | "
              + ("" if test is None else f"{1000 * test / args.batch:.2f}") + " |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"threads": args.threads, "batch": args.batch, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
