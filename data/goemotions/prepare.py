"""Build the bundled GoEmotions splits from the google-research tsv files (run once by hand).

    python data/goemotions/prepare.py --source ../shared/data/goemotions

Writes, next to this file:
- train.csv: id, text of 10,000 rows drawn (seeded) from the official train split,
  without labels (train labels are never used; 10k keeps the demo a few minutes on 2 cores);
- dev.csv: id, text, emotions, ekman for 500 rows drawn (seeded) from the official dev
  split: a realistic annotation budget;
- test.csv: the same columns for the whole official test split (5,427 rows);
- emotions.txt and ekman_mapping.json, copied as they are.
Label sets are label names joined by ";" (e.g. "joy;surprise"). `ekman` maps the 27
emotions to the 6 Ekman groups of ekman_mapping.json, and neutral to "neutral".
"""

import argparse
import csv
import json
import os
import shutil

import pandas as pd

SEED = 20261205
TRAIN_ROWS, DEV_ROWS = 10_000, 500


def read_tsv(path: str, names: list[str]) -> pd.DataFrame:
    # default quoting: texts starting with '"' are CSV-quoted (SOURCES.md section 4)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    return pd.DataFrame({
        "id": [r[2] for r in rows],
        "text": [r[0] for r in rows],
        "emotions": [";".join(names[int(i)] for i in r[1].split(",")) for r in rows],
    })


def ekman_of(emotions: str, group_of: dict[str, str]) -> str:
    groups = {group_of.get(e, "neutral") for e in emotions.split(";")}
    order = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    return ";".join(g for g in order if g in groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="folder with train/dev/test.tsv")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    with open(os.path.join(args.source, "emotions.txt"), encoding="utf-8") as f:
        names = f.read().split("\n")
    with open(os.path.join(args.source, "ekman_mapping.json"), encoding="utf-8") as f:
        group_of = {e: g for g, members in json.load(f).items() for e in members}
    for small in ("emotions.txt", "ekman_mapping.json"):
        shutil.copyfile(os.path.join(args.source, small), os.path.join(args.out, small))
    splits = {s: read_tsv(os.path.join(args.source, f"{s}.tsv"), names)
              for s in ("train", "dev", "test")}
    splits["train"] = splits["train"].sample(TRAIN_ROWS, random_state=SEED)[["id", "text"]]
    splits["dev"] = splits["dev"].sample(DEV_ROWS, random_state=SEED)
    for name in ("dev", "test"):
        splits[name]["ekman"] = [ekman_of(e, group_of) for e in splits[name]["emotions"]]
    for name, part in splits.items():
        part.sort_values("id").to_csv(os.path.join(args.out, f"{name}.csv"), index=False)
        print(name, len(part))


if __name__ == "__main__":
    main()
