"""CPU seconds of the default end-model choice on WRENCH trec, embeddings warm, for the
checkout at PATH: compares two commits' fitting cost on the same machine in one sitting.

The search's wall time on a shared 2-core machine moves with the load; its CPU seconds
much less. With the MiniLM embeddings already cached (a first, untimed choice fills the
cache in ``--cache``), what is left is the classifier and TF-IDF fits. Used for #14 item 7
to compare the one-copy-per-class fits with the soft-target fits
(``labeling.train.soft_logreg``)::

    git worktree add /tmp/before a0f88c9
    python benchmarks/search_cpu.py /tmp/before --json /tmp/before.json
    python benchmarks/search_cpu.py . --json /tmp/after.json

Both print the CPU and wall seconds and every candidate's dev CV score (the same folds,
so equal scores mean the same models up to the solvers' tolerance). Test is not used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a checkout of this repository")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/search_cpu_cache"),
                        help="embedding cache shared between runs")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    root = args.checkout.resolve()
    sys.path[:0] = [str(root / "benchmarks"), str(root)]
    import labeling
    if not Path(labeling.__file__).resolve().is_relative_to(root):
        sys.exit(f"labeling was imported from {labeling.__file__}, not from {root}")
    from learning_curve import load_dataset
    from search import fit_label_model

    from labeling.train.auto import choose_end_model

    data, (k, metric, pos) = load_dataset("trec", args.cache)
    probs, covered = fit_label_model(data, k, metric, pos)
    dev = data["valid"]

    def choose():
        wall, cpu = time.perf_counter(), time.process_time()
        _, report = choose_end_model(data["train"]["text"], probs, covered, dev["text"],
                                     dev["y"], metric=metric, pos_label=pos,
                                     cache_dir=args.cache / "embeddings")
        return time.perf_counter() - wall, time.process_time() - cpu, report

    choose()  # fills the embedding cache; not timed
    wall, cpu, report = choose()
    result = {"checkout": str(root), "cpu_s": round(cpu, 1), "wall_s": round(wall, 1),
              "chosen": report["name"] + "/" + report["label_mode"]
              + ("" if report["weak_weight"] is None else f"/w{report['weak_weight']:g}"),
              "cv": report["cv"], "cv_scores": report["cv_scores"]}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
