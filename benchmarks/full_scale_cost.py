"""What does one training step of a full-scale config cost: compute, memory, time (on this machine)?

For the models of notebooks/training/configs/ at their full-scale input size and batch (CDCN and CDCN++
at 256 px, batch 8, width 1.0; the ResNet-18 baseline at 256 px, batch 8), each in a fresh process:
  - parameters, and forward FLOPs per frame counted by torch.utils.flop_counter (a multiply-add is 2);
  - the memory one training step (forward, backward, AdamW update) adds to the process: the peak
    resident set size after the step minus the one before it, with the model, optimizer and batch
    already built. On a GPU the same tensors live in device memory (activations, gradients, the
    optimizer's two moments), plus the CUDA context and cuDNN workspaces, so this is a lower bound
    for fp32 there;
  - the wall time of that step on this CPU (a figure for this machine, not for a GPU).
Prints a Markdown table. About 2 minutes on 2 idle cores:

    python benchmarks/full_scale_cost.py
"""
import argparse
import json
import resource
import subprocess
import sys
import time

MODELS = {"cdcn": (256, 8), "cdcn++": (256, 8), "resnet18": (256, 8)}  # model: (image size, batch), as in configs/


def measure(model_name: str, image_size: int, batch: int) -> dict:
    """One training step of ``model_name`` in this process (call it in a fresh one)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from faslearn.runs import build_model

    torch.manual_seed(0)
    model, objective = build_model(model_name, theta=0.7, width=1.0, map_size=image_size // 8)
    x = torch.rand(batch, 3, image_size, image_size) * 2 - 1
    batch_dict = {"image": x, "label": torch.randint(0, 2, (batch,)).float(),
                  "depth": torch.rand(batch, 1, image_size // 8, image_size // 8),
                  "reflection": torch.zeros(batch, 1, image_size // 8, image_size // 8)}
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(x[:1])
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    loss = objective.loss(model(x), batch_dict)
    loss.backward()
    optimizer.step()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"parameters": sum(p.numel() for p in model.parameters()), "gflops": counter.get_total_flops() / 1e9,
            "step_mib": (after - before) / 1024, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this model in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, *MODELS[args.one])))
        return
    print("| model | input, batch | parameters | forward GFLOPs per frame | memory one training step adds (fp32) "
          "| step on this CPU |")
    print("|---|---|---|---|---|---|")
    for name, (size, batch) in MODELS.items():
        out = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {name} | {size}², {batch} | {row['parameters'] / 1e6:.2f}M | {row['gflops']:.1f} | "
              f"{row['step_mib']:,.0f} MiB | {row['seconds']:.1f} s |")


if __name__ == "__main__":
    main()
