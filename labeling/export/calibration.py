"""How far an end model's probabilities can be taken at face value.

>>> report = calibration_report([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
>>> round(report["accuracy"], 2), round(report["mean_confidence"], 2), report["verdict"]
(0.75, 0.75, 'well calibrated')
"""

from __future__ import annotations

import numpy as np

GAP_TOLERANCE = 0.02  # |mean confidence - accuracy| below this reads "well calibrated"


def calibration_report(y_true, proba, n_bins: int = 10) -> dict:
    """ECE, Brier score and reliability bins of predicted-class confidence.

    Confidence is the top class probability. Bins split [0, 1] into ``n_bins`` equal
    widths (the last one includes 1.0); each has its count, mean confidence and
    accuracy (None when empty). ECE is the count-weighted mean |accuracy - confidence|
    over bins. Brier is the mean over rows of sum_k (p_k - [y = k])^2 (the multi-class
    form: for two classes it is twice the one-column Brier score). ``gap`` is mean
    confidence minus accuracy: positive means over-confident.
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"proba must be (n, k) with n = len(y_true) = {len(y)}, "
                         f"got shape {p.shape}")
    if len(y) == 0:
        return {"n": 0, "n_bins": n_bins, "ece": None, "brier": None, "accuracy": None,
                "mean_confidence": None, "gap": None, "verdict": "no rows", "bins": []}
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    which = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        conf = float(confidence[mask].mean()) if count else None
        acc = float(correct[mask].mean()) if count else None
        if count:
            ece += count / len(y) * abs(acc - conf)
        bins.append({"lower": b / n_bins, "upper": (b + 1) / n_bins, "count": count,
                     "confidence": conf, "accuracy": acc})
    gap = float(confidence.mean() - correct.mean())
    if abs(gap) < GAP_TOLERANCE:
        verdict = "well calibrated"
    else:
        verdict = "over-confident" if gap > 0 else "under-confident"
    return {"n": int(len(y)), "n_bins": n_bins, "ece": float(ece),
            "brier": float(((p - onehot) ** 2).sum(axis=1).mean()),
            "accuracy": float(correct.mean()), "mean_confidence": float(confidence.mean()),
            "gap": gap, "verdict": verdict, "bins": bins}


def calibration_markdown(reports: dict[str, dict], in_sample=()) -> list[str]:
    """Markdown lines: a summary per split, in words, then the reliability bins.
    ``in_sample``: splits the model was trained on (its dev gold rows), marked so: their
    accuracy is a fit, not an estimate, so no verdict is drawn from them."""
    lines = []
    for split, r in reports.items():
        if not r.get("n"):
            continue
        head = (f"- {split} ({r['n']} rows): ECE {r['ece']:.3f}, Brier {r['brier']:.3f}; "
                f"mean confidence {r['mean_confidence']:.3f} vs accuracy {r['accuracy']:.3f}")
        if split in in_sample:
            lines.append(head + " (in-sample: the model was trained on these rows, so this "
                                "says nothing of its calibration on new texts)")
        else:
            lines.append(head + f": **{r['verdict']}**" + ("" if r["verdict"] == "well calibrated"
                                                             else f" by {abs(r['gap']):.3f}"))
    splits = [s for s, r in reports.items() if r.get("n")]
    if not splits:
        return lines
    lines += ["", "| confidence | " + " | ".join(f"{s} n | {s} conf | {s} acc" for s in splits)
              + " |", "|---|" + "---|---|---|" * len(splits)]
    n_bins = reports[splits[0]]["n_bins"]
    for b in range(n_bins):
        cells = []
        for s in splits:
            row = reports[s]["bins"][b]
            cells += [str(row["count"])] + [f"{row[k]:.3f}" if row[k] is not None else "-"
                                            for k in ("confidence", "accuracy")]
        if any(reports[s]["bins"][b]["count"] for s in splits):
            lo = reports[splits[0]]["bins"][b]
            lines.append(f"| {lo['lower']:.1f}-{lo['upper']:.1f} | " + " | ".join(cells) + " |")
    return lines
