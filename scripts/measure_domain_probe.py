"""Did domain generalisation remove the domain from the features? A linear probe on trained networks' features.

    python scripts/measure_domain_probe.py --out faslearn/pretrained/domain_probe.json \
        --runs runs/oanet_sweep runs/dg_sweep

For every finished leave-one-domain-out run under the given sweep folders whose network is a ViT or a ResNet-18
(plain, SSDG or domain-adversarial), the penultimate features (a plain network's input to its last layer; a
domain-generalised one's normalised embedding) of the sources' dev presentations are computed, and a logistic
regression is asked, by 5-fold cross-validation, which source domain each came from, for the bona fide faces and
for the attacks apart. Chance is one in three. SSDG should leave the bona fide faces' domain unreadable and the
attacks' readable; domain-adversarial training both unreadable. For a domain-generalised network the entry also
keeps how often its own discriminator, as trained, names the right domain (the adversary the features were
trained to fool), and every entry the features' mean norm. Writes one JSON file with one entry per run.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import faslearn as fl  # noqa: E402


def features(run: "fl.runs.Run", images: np.ndarray) -> np.ndarray:
    net = run.model
    x = fl.data.to_tensor(images)
    with torch.no_grad():
        if isinstance(net, fl.models.DomainGeneralised):
            return net.features(x).numpy()
        if hasattr(net, "features"):  # the ViT
            return net.features(x).numpy()
        head, net.fc = net.fc, torch.nn.Identity()  # torchvision's ResNet-18: its pooled features
        try:
            return net(x).numpy()
        finally:
            net.fc = head


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="sweep output folders")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    bench = fl.data.make_benchmark(progress=False)
    domains = fl.data.datasets.domain_names(bench)  # the order a discriminator's outputs count
    entries = []
    for folder in sorted(p for root in args.runs for p in root.iterdir() if (p / "results.json").is_file()):
        parameters = json.loads((folder / "results.json").read_text())["parameters"]
        plain_loo = parameters.get("protocol") == "leave_one_out" and not any(
            parameters.get(k) for k in ("sources", "pool_faces", "pretrained_vit"))
        if parameters.get("variant") not in ("only_image", "resnet18") or not plain_loo:
            continue
        run = fl.runs.load_run(folder)
        dev = bench.protocol("leave_one_out", parameters["target"])["dev"]
        f = features(run, bench.frames[dev, 0])
        entry = {"run": folder.name, "method": fl.experiments.method_name(parameters),
                 "target": parameters["target"], "seed": parameters["seed"]}
        right = None  # whether its own discriminator, as trained, names each face's domain (DG networks only)
        if isinstance(run.model, fl.models.DomainGeneralised):
            with torch.no_grad():
                judged = run.model.discriminator(torch.from_numpy(f)).argmax(1).numpy()
            right = judged == np.array([domains.index(d) for d in bench.domain[dev]])
        for kind, keep in (("bona_fide", bench.label[dev] == 1), ("attack", bench.label[dev] == 0)):
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
            scores = cross_val_score(probe, f[keep], bench.domain[dev][keep], cv=5)
            entry[f"domain_accuracy_{kind}"] = round(float(scores.mean()), 4)
            entry[f"feature_norm_{kind}"] = round(float(np.linalg.norm(f[keep], axis=1).mean()), 4)
            if right is not None:
                entry[f"discriminator_accuracy_{kind}"] = round(float(right[keep].mean()), 4)
        entries.append(entry)
        print(f"{entry['method']:>18} {entry['target']:>8} seed {entry['seed']}: domain read from bona fide "
              f"{entry['domain_accuracy_bona_fide']:.3f}, from attacks {entry['domain_accuracy_attack']:.3f}",
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    made_by = f"python scripts/measure_domain_probe.py --out {args.out} --runs " + " ".join(map(str, args.runs))
    args.out.write_text(json.dumps({"made_by": made_by, "chance": 1 / 3, "entries": entries}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
