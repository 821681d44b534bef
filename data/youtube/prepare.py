"""Build the bundled YouTube spam split from the UCI CSVs (run once by hand).

    python data/youtube/prepare.py --source ../shared/data/youtube_spam_collection

De-duplicates comment texts (spam is re-posted across videos; duplicates would leak
between splits), then splits 70/15/15, stratified by class, with a fixed seed. The
train split is written without its gold column: train labels are never used.
"""

import argparse
import glob
import os

import pandas as pd
from sklearn.model_selection import train_test_split

SEED = 20261124
LABELS = {0: "ham", 1: "spam"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="folder with Youtube0N-*.csv")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()

    frames = []
    for path in sorted(glob.glob(os.path.join(args.source, "Youtube0*.csv"))):
        video = os.path.basename(path).split("-", 1)[1].removesuffix(".csv")
        frames.append(pd.read_csv(path, encoding="utf-8").assign(video=video))
    raw = pd.concat(frames, ignore_index=True)
    # First occurrence wins; no text carries two different labels in this collection.
    unique = raw.drop_duplicates("CONTENT", keep="first").reset_index(drop=True)
    df = pd.DataFrame(
        {
            "id": [f"yt{i:04d}" for i in range(len(unique))],
            "text": unique["CONTENT"],
            "label": unique["CLASS"].map(LABELS),
            "author": unique["AUTHOR"],
            "date": unique["DATE"],
            "video": unique["video"],
        }
    )
    train, rest = train_test_split(df, test_size=0.30, stratify=df["label"], random_state=SEED)
    dev, test = train_test_split(rest, test_size=0.50, stratify=rest["label"], random_state=SEED)
    for name, part in [("train", train.drop(columns="label")), ("dev", dev), ("test", test)]:
        part.sort_values("id").to_csv(os.path.join(args.out, f"{name}.csv"), index=False)
        print(name, len(part), part["label"].value_counts().to_dict() if "label" in part else "")


if __name__ == "__main__":
    main()
