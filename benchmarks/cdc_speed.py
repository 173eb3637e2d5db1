"""How much does central difference convolution cost compared with a plain convolution?

Compares, in one run with warm-up and interleaved repeats (median times):
  (a) inference of one 128→196 3×3 layer: nn.Conv2d, Conv2dCD (folds its kernel on every call),
      Conv2dCD.fold() (a plain nn.Conv2d) and the reference code's two-convolution form;
  (b) a training step (forward + backward) of the same layer, for the same variants but fold();
  (c) whole-network throughput: CDCN inference images/s at 64 px (batch 8) and 256 px (batch 2),
      and a CDCN training step at 64 px with θ = 0 (plain convolutions), Conv2dCD and the
      two-convolution form.
Prints Markdown tables. About 30 s on 2 idle CPU cores (several times that on shared ones):

    python benchmarks/cdc_speed.py --sizes 16 64 --repeats 10 --network-repeats 3
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from _timing import inference, median_seconds  # benchmarks/_timing.py

from faslearn.models.cdc import CDCN, Conv2dCD, fold_cdc
from faslearn.utils import get_device, seed_everything


class TwoConvolutionCDC(nn.Module):
    """The reference code's form, y = conv(x, w) − θ·conv1x1(x, Σ_n w), sharing the weight of ``cdc``."""

    def __init__(self, cdc: Conv2dCD):
        super().__init__()
        self.cdc = cdc

    def forward(self, x):
        w = self.cdc.weight
        y = F.conv2d(x, w, None, self.cdc.stride, self.cdc.padding, self.cdc.dilation, self.cdc.groups)
        kernel_sum = w.sum(dim=(2, 3), keepdim=True)
        return y - self.cdc.theta * F.conv2d(x, kernel_sum, None, self.cdc.stride, 0, 1, self.cdc.groups)


def with_two_convolution_cdc(model: nn.Module) -> nn.Module:
    """``model`` with every Conv2dCD wrapped in TwoConvolutionCDC (same weights, in place)."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, Conv2dCD):
                setattr(parent, name, TwoConvolutionCDC(child))
    return model


def training_step(model, x):
    def run():
        model(x).sum().backward()
    return run


def layer_rows(size: int, batch: int, repeats: int, device: torch.device) -> list:
    """Rows (task, variant, ms, ratio to nn.Conv2d) for one 128→196 3×3 layer on size×size maps."""
    cdc = Conv2dCD(128, 196, kernel_size=3, padding=1, theta=0.7).to(device)
    conv = nn.Conv2d(128, 196, kernel_size=3, padding=1, bias=False).to(device)
    trained = {"nn.Conv2d": conv, "Conv2dCD (folds each call)": cdc,
               "two convolutions (reference code)": TwoConvolutionCDC(cdc)}
    inferred = {**trained, "Conv2dCD.fold() (nn.Conv2d)": cdc.fold()}
    x = torch.randn(batch, 128, size, size, device=device)
    x_grad = x.clone().requires_grad_(True)  # a hidden layer also computes the gradient of its input
    rows = []
    for task, make_run, inputs, variants in (("inference", inference, x, inferred),
                                             ("training step", training_step, x_grad, trained)):
        seconds = median_seconds({k: make_run(m, inputs) for k, m in variants.items()}, repeats, device)
        for name, s in seconds.items():
            rows.append((f"{task}, {size}×{size}, batch {batch}", name, 1000 * s, s / seconds["nn.Conv2d"]))
    return rows


def network_rows(repeats: int, device: torch.device) -> list:
    """Rows (task, variant, ms, images/s) for CDCN inference at 64 and 256 px and training at 64 px."""
    rows = []
    model = CDCN().to(device).eval()
    folded = fold_cdc(model)
    for size, batch in ((64, 8), (256, 2)):
        x = torch.randn(batch, 3, size, size, device=device)
        runs = {"CDCN (Conv2dCD)": inference(model, x), "CDCN folded (nn.Conv2d)": inference(folded, x)}
        seconds = median_seconds(runs, repeats, device, warmup=1)
        task = f"CDCN inference, {size} px, batch {batch}"
        rows += [(task, name, 1000 * s, batch / s) for name, s in seconds.items()]
    x = torch.randn(8, 3, 64, 64, device=device)
    runs = {"CDCN θ=0 (plain convolutions)": training_step(CDCN(theta=0.0).to(device).train(), x),
            "CDCN (Conv2dCD)": training_step(model.train(), x),
            "CDCN, two convolutions (reference code)":
                training_step(with_two_convolution_cdc(CDCN().to(device).train()), x)}
    seconds = median_seconds(runs, repeats, device, warmup=1)
    rows += [("CDCN training step, 64 px, batch 8", name, 1000 * s, 8 / s) for name, s in seconds.items()]
    return rows


def markdown_table(header: tuple, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task, name, ms, last in rows:
        lines.append(f"| {task} | {name} | {ms:.1f} | {last:.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64], help="layer benchmark: feature map sizes")
    parser.add_argument("--batch", type=int, default=8, help="layer benchmark: batch size")
    parser.add_argument("--repeats", type=int, default=10, help="timed repeats per layer variant (median)")
    parser.add_argument("--network-repeats", type=int, default=3, help="timed repeats per network variant")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: faslearn.utils.get_device)")
    args = parser.parse_args()

    seed_everything(0)
    device = get_device(args.device)
    print(f"device: {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} (layer) and {args.network_repeats} (network) interleaved repeats\n")
    rows = [row for size in args.sizes for row in layer_rows(size, args.batch, args.repeats, device)]
    print(markdown_table(("layer 128→196, 3×3", "variant", "median ms", "× nn.Conv2d"), rows), "\n")
    rows = network_rows(args.network_repeats, device)
    print(markdown_table(("network", "variant", "median ms", "images/s"), rows))


if __name__ == "__main__":
    main()
