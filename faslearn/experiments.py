"""Run one method over the benchmark's protocols and tabulate the results.

A *method* is any function ``method(benchmark, rows) -> (dev_scores, test_scores)`` where
``rows`` holds the ``train``/``dev``/``test`` row indices of one protocol: it trains on the train
rows however it likes and scores the dev and test rows. The threshold is then always chosen on
dev (``faslearn.metrics.evaluate``), so every model in the course is compared the same way.
"""
import numpy as np

from .metrics import evaluate

PROTOCOL_LABELS = {"intra": "intra-domain", "leave_one_out": "leave-one-domain-out"}


def run_protocols(benchmark, method, protocols=("intra", "leave_one_out"), targets=None) -> list[dict]:
    """One result row per (protocol, target domain): dev-threshold metrics on the test rows."""
    results = []
    for protocol in protocols:
        for target in targets or benchmark.config.domains:
            rows = benchmark.protocol(protocol, target)
            dev_scores, test_scores = method(benchmark, rows)
            metrics = evaluate(dev_scores, benchmark.label[rows["dev"]], test_scores, benchmark.label[rows["test"]],
                               benchmark.pai[rows["test"]])
            # (metrics["protocol"] says "dev_threshold"; here the key names the data protocol instead)
            results.append({**metrics, "protocol": PROTOCOL_LABELS[protocol], "target": target,
                            "test_scores": np.asarray(test_scores)})
    return results


def results_table(rows: list[dict], keys=("hter", "acer", "apcer", "apcer_pooled", "bpcer", "auc")) -> str:
    """A fixed-width text table in %, one decimal (stable across runs and platforms)."""
    header = f"{'protocol':<22}{'target':<10}" + "".join(f"{k.upper():>14}" for k in keys)
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['protocol']:<22}{r['target']:<10}" + "".join(f"{100 * r[k]:>14.1f}" for k in keys))
    for protocol in dict.fromkeys(r["protocol"] for r in rows):
        subset = [r for r in rows if r["protocol"] == protocol]
        lines.append(f"{protocol:<22}{'mean':<10}" + "".join(f"{100 * np.mean([r[k] for r in subset]):>14.1f}"
                                                            for k in keys))
    return "\n".join(lines)
