"""Measure whether the sample world shows what the course teaches, on the default benchmark:

- the shortcut audit: gradient-boosted trees on the border ring alone and on global colour statistics
  alone (intra-domain test AUC per domain; targets: mean <= 0.65 and <= 0.75), and its control, the
  ring just inside the border;
- the domain gap of the course's ResNet-18 baseline at the course budget: HTER on the sources' own
  test split vs on the unseen target (leave-one-domain-out), per target and mean (target: >= 2x),
  intra-domain HTER per domain (target: 3-15 %), and the control with as many training frames as
  intra-domain;
- the ResNet-18's APCER on the unseen species (mask, partial attack) at its dev threshold.

    python scripts/measure_world.py --seeds 0 1 2 --out world.json   # about 1 min on a GPU

Prints tables and writes every number to ``--out``. Render time per presentation is measured too.
"""
import argparse
import json
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

import faslearn as fl
from faslearn.data import UNSEEN_ATTACKS
from faslearn.experiments import shortcut_audit
from faslearn.losses import BINARY
from faslearn.metrics import evaluate
from faslearn.models import CDCNBinary, resnet18_binary

MODELS = {"resnet18": resnet18_binary, "cdcn_binary": lambda: CDCNBinary(theta=0.7, width=0.25)}


def audit(bench) -> dict:
    results = shortcut_audit(bench)
    for name, aucs in results.items():
        print(f"audit {name:<14}" + "".join(f"{target:>9} {auc:.3f}" for target, auc in aucs.items())
              + f"   mean {np.mean(list(aucs.values())):.3f}", flush=True)
    return results


def train_model(bench, rows, seed, epochs, device, model="resnet18", batch_size=32, augment=False):
    flip_shift = fl.data.FlipShift() if augment else None
    loaders = {split: DataLoader(fl.data.FrameDataset(bench, rows[split],
                                                      augment=flip_shift if split == "train" else None),
                                 batch_size=batch_size, shuffle=split == "train",
                                 generator=torch.Generator().manual_seed(seed))
               for split in rows}
    fl.seed_everything(seed)
    net = MODELS[model]()
    fl.train.fit(net, loaders["train"], loaders["dev"], loss_fn=BINARY.loss, score_fn=BINARY.score, epochs=epochs,
                 device=device, seed=seed, progress=False, log=lambda *a, **k: None)
    return {split: fl.train.predict(net, loaders[split], BINARY.score, device=device)["scores"] for split in rows}


def domain_gap(bench, seeds, epochs, device, intra_only=False, model="resnet18", targets=None, batch_size=32,
               augment=False) -> list[dict]:
    records = []
    for seed in seeds:
        for target in targets or bench.config.domains:
            intra = bench.protocol("intra", target)
            loo = bench.protocol("leave_one_out", target)
            sources_test = bench.select("test", [d for d in bench.config.domains if d != target])
            sources_test = sources_test[~np.isin(bench.pai[sources_test], UNSEEN_ATTACKS)]
            control = dict(loo, train=np.sort(np.random.default_rng(seed).choice(loo["train"], len(intra["train"]),
                                                                                replace=False)))
            protocols = (("intra", intra), ("leave_one_out", dict(loo, sources_test=sources_test)),
                         ("leave_one_out_same_frames", control))
            for name, rows in protocols[:1] if intra_only else protocols:
                scores = train_model(bench, rows, seed, epochs, device, model, batch_size, augment)
                record = dict(seed=seed, target=target, protocol=name)
                for split in ("test", "sources_test"):
                    if split in rows:
                        m = evaluate(scores["dev"], bench.label[rows["dev"]], scores[split], bench.label[rows[split]],
                                     bench.pai[rows[split]])
                        record[f"{split}_hter"], record[f"{split}_acer"] = m["hter"], m["acer"]
                        threshold = m["threshold"]
                if name != "leave_one_out_same_frames":
                    unseen = rows["unseen"]
                    accepted = scores["unseen"] >= threshold
                    record["unseen_apcer"] = {p: float(accepted[bench.pai[unseen] == p].mean()) for p in UNSEEN_ATTACKS}
                records.append(record)
                print(json.dumps(record), flush=True)
    return records


def summarise(records, model="resnet18") -> dict:
    def mean(protocol, key, target=None):
        values = [r[key] for r in records if r["protocol"] == protocol and (target is None or r["target"] == target)]
        return float(np.mean(values))

    targets = list(dict.fromkeys(r["target"] for r in records))
    print(f"\n{'target':<9}{'intra':>8}{'sources':>9}{'unseen':>8}{'ratio':>7}{'same-n':>8}   ({model} HTER %)")
    rows = {}
    for t in targets:
        intra, sources, unseen = (mean("intra", "test_hter", t), mean("leave_one_out", "sources_test_hter", t),
                                  mean("leave_one_out", "test_hter", t))
        same = mean("leave_one_out_same_frames", "test_hter", t)
        rows[t] = dict(intra=intra, sources=sources, unseen=unseen, ratio=unseen / max(sources, 1e-9), same_frames=same)
        print(f"{t:<9}{100 * intra:8.1f}{100 * sources:9.1f}{100 * unseen:8.1f}{unseen / max(sources, 1e-9):7.2f}"
              f"{100 * same:8.1f}")
    sources, unseen = mean("leave_one_out", "sources_test_hter"), mean("leave_one_out", "test_hter")
    print(f"{'mean':<9}{100 * mean('intra', 'test_hter'):8.1f}{100 * sources:9.1f}{100 * unseen:8.1f}"
          f"{np.mean([r['ratio'] for r in rows.values()]):7.2f}"
          f"{100 * mean('leave_one_out_same_frames', 'test_hter'):8.1f}")
    apcer = {p: float(np.mean([r["unseen_apcer"][p] for r in records if "unseen_apcer" in r and
                               r["protocol"] == "intra"])) for p in UNSEEN_ATTACKS}
    print("unseen species APCER (intra, mean):", {p: round(100 * v, 1) for p, v in apcer.items()})
    return dict(per_target=rows, unseen_apcer_intra=apcer)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--augment", action="store_true", help="flip and shift the training frames (fl.data.FlipShift)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--identities", type=int, default=None, help="identities per domain (default: the benchmark's)")
    parser.add_argument("--difficulty", type=float, default=None, help="the benchmark's difficulty (default: its own)")
    parser.add_argument("--moire", type=float, default=None,
                        help="strength of the domains' colour moiré on prints and screens (default: the benchmark's)")
    parser.add_argument("--clutter", type=float, default=None,
                        help="how furnished the rooms are (default: the benchmark's)")
    parser.add_argument("--colour-managed", type=int, choices=(0, 1), default=None,
                        help="1: the printers calibrate their tones, 0: they do not (default: the benchmark's)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="side of the face crop in pixels (default: the benchmark's)")
    parser.add_argument("--model", choices=list(MODELS), default="resnet18",
                        help="the detector trained (default: ResNet-18)")
    parser.add_argument("--intra-only", action="store_true", help="train intra-domain only (a quick check)")
    parser.add_argument("--targets", nargs="+", default=None, help="target domains (default: all)")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    settings = dict(identities_per_domain=args.identities, difficulty=args.difficulty, image_size=args.image_size,
                    moire=args.moire, clutter=args.clutter,
                    colour_managed=None if args.colour_managed is None else bool(args.colour_managed))
    overrides = {name: value for name, value in settings.items() if value is not None}  # else the benchmark's own
    bench = fl.data.make_benchmark(workers=args.workers, **overrides)
    render_seconds = time.perf_counter() - start
    print(f"benchmark: {len(bench)} presentations, {render_seconds:.1f} s to render or load", flush=True)
    results = dict(render_seconds=render_seconds, audit=audit(bench))
    if not args.skip_training:
        records = domain_gap(bench, args.seeds, args.epochs, args.device, args.intra_only, args.model, args.targets,
                             args.batch_size, args.augment)
        if args.intra_only:
            intra = {t: round(100 * float(np.mean([r["test_hter"] for r in records if r["target"] == t])), 1)
                     for t in args.targets or bench.config.domains}
            print("intra HTER %:", intra)
        results.update(records=records, summary=None if args.intra_only else summarise(records, args.model))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
