"""Prompt proposals for what no LF covers: clusters of uncovered train rows in MiniLM space.

Rows no LF votes on get the class prior from the label model and, by default, no place
in the end model's training set. Grouping them by meaning (k-means on their MiniLM
embeddings, the vectors the end model and the offline prompt backend already cache)
finds the kinds of text the LFs miss; dev gold rows near a cluster say which label
it holds. Each cluster with a clear label (at least ``min_dev`` dev rows near its centre,
``min_purity`` of them of one label) becomes a yes/no ``prompt_lf``: "Is this text like
<its most central rows>?", whose offline descriptions are the cluster's most central
row (yes) and the nearest dev row of another label (no). With an LLM endpoint the same
LF asks the question; offline it is answered by embedding similarity, which is how it
is scored here.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from labeling.suggest.context import Context
from labeling.suggest.proposal import Proposal

MAX_CLUSTERS = 12


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def cluster_proposals(ctx: Context, proba_train: np.ndarray, targets: list[int] | None = None,
                      min_dev: int = 3, min_purity: float = 0.7, seed: int = 0) -> list[Proposal]:
    """Prompt proposals from clusters of uncovered train rows (module docstring)."""
    uncovered = np.flatnonzero((ctx.L["train"] == -1).all(axis=1))
    n_clusters = min(MAX_CLUSTERS, len(uncovered) // 25)
    gold = ctx.gold_rows
    if n_clusters < 2 or len(gold) < min_dev:
        return []
    texts = [ctx.texts["train"][i] for i in uncovered]
    X = ctx.backend.embed(texts)
    D = ctx.backend.embed([ctx.texts["dev"][i] for i in gold])
    y = ctx.y_dev[gold]
    km = KMeans(n_clusters=n_clusters, n_init=3, random_state=seed).fit(X)
    centres = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
    member_sim = X @ centres.T
    dev_sim = D @ centres.T
    out = []
    for c in range(n_clusters):
        members = np.flatnonzero(km.labels_ == c)
        # a dev row is near the cluster when it is as close to the centre as the
        # cluster's median member, and closer to this centre than to any other
        radius = np.median(member_sim[members, c])
        near = np.flatnonzero((dev_sim[:, c] >= radius) & (dev_sim.argmax(axis=1) == c))
        if len(near) < min_dev:
            continue
        counts = np.bincount(y[near], minlength=ctx.k)
        label = int(counts.argmax())
        if counts[label] / len(near) < min_purity or (targets is not None and label not in targets):
            continue
        central = members[np.argsort(-member_sim[members, c])[:3]]
        others = np.flatnonzero(y != label)
        if not len(others):
            continue
        contrast = gold[others[np.argmax(dev_sim[others, c])]]
        shown = [_short(texts[i]) for i in central]
        question = ("Is this text of the same kind as these examples?\n"
                    + "\n".join(f"- {t}" for t in shown))
        out.append(Proposal(
            "prompt", label, question=question,
            descriptions={"yes": _short(texts[central[0]], 400),
                          "no": _short(ctx.texts["dev"][contrast], 400)},
            source="offline:cluster",
            rationale=(f"{len(members)} train rows no LF votes on; {counts[label]} of the "
                       f"{len(near)} dev rows near them are {ctx.labels[label]}")))
    return out
