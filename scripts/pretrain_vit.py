"""Pre-train the course's ViT without labels on the bona fide pool: masked image modelling (faslearn.models.mim).

    python scripts/pretrain_vit.py --out runs/vit_mim [--steps 3000] [--batch-size 64] [--threads 2]

The pool's real faces (560 people outside every dev and test split, 8 views each under wild capture conditions:
the teaching DFG's training data) are the only data; a random 60 % of each face's 8 × 8 patches are hidden and the
ViT (width 96, depth 4, 4 heads, a convolutional stem: the course's) learns to fill them in. Resumable: run it again
with the same settings and it continues from the last checkpoint. Writes ``OUT/vit.safetensors`` (the ViT alone,
for train_oanet.ipynb's ``pretrained_vit``) and ``OUT/pretrain.json`` (settings and the loss curve).
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
from faslearn.checkpoints import save_checkpoint  # noqa: E402
from faslearn.utils import check_number  # noqa: E402

VIT = dict(image_size=64, patch_size=8, width=96, depth=4, heads=4, stem="conv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--mask-ratio", type=float, default=0.6)
    parser.add_argument("--pool-identities", type=int, default=0, help="people in the pool (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: the default)")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size"):
        check_number(getattr(args, name), name.replace("_", "-"), 1, integer=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    pool = fl.data.make_pool(fl.data.PoolConfig(identities=args.pool_identities or None, views_per_identity=8,
                                                image_size=VIT["image_size"]), progress=False)
    images = fl.data.to_tensor(pool.images)  # (N, 3, S, S) in [-1, 1]
    fl.seed_everything(args.seed)
    model = fl.models.MaskedImageModel(fl.models.ViT(**VIT), args.mask_ratio)

    def draw_batch(rng: np.random.Generator) -> dict:
        pick = rng.integers(0, len(images), args.batch_size)
        batch = images[pick].clone()
        flip = torch.from_numpy(rng.random(args.batch_size) < 0.5)
        batch[flip] = batch[flip].flip(-1)
        mask = model.random_mask(args.batch_size, torch.Generator().manual_seed(int(rng.integers(2**31))))
        return {"images": batch, "mask": mask}

    start = time.perf_counter()
    record = fl.train.fit_steps(model, draw_batch, lambda m, b: m(b["images"], b["mask"]), steps=args.steps,
                                lr=args.lr, weight_decay=0.05, warmup=min(200, args.steps // 10), device="cpu",
                                checkpoint_dir=args.out, seed=args.seed, desc="masked image modelling")
    args.out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out / "vit.safetensors", model.vit)
    (args.out / "pretrain.json").write_text(json.dumps({"settings": {**VIT, **{k: v for k, v in vars(args).items()
                                                                              if k != "out"}},
                                                        "pool_faces": len(images), "record": record,
                                                        "seconds": round(time.perf_counter() - start, 1)}))
    print(f"wrote {args.out / 'vit.safetensors'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
