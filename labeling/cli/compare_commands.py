"""``labeling compare A B``: two runs side by side, for "what changed between last
week's model and this one?": their scores, and what made them (data files, LF modules
and config by sha256, LFs by fingerprint, rows, the models chosen).

A and B are run folders (metrics.json, and model/model_card.json when exported) or
exported model folders (model_card.json alone, e.g. a model kept with ``labeling export
--out``). Only their files are read: the task as it is now plays no part.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from labeling.apply.applied import CODE_KEY, explain
from labeling.cli.common import app, user_errors
from labeling.config import control_character
from labeling.errors import LabelingError

MODELS = ("majority_vote", "label_model", "end_model", "gold_only")
CARD = "model_card.json"


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LabelingError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise LabelingError(f"{path}: not a JSON object")
    return data


def load_side(folder: Path) -> dict:
    """``{"metrics": dict | None, "card": dict | None}`` of a run or model folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LabelingError(f"{folder}: no such folder (give a run folder or an exported "
                            "model folder)")
    card = next((p for p in (folder / CARD, folder / "model" / CARD) if p.is_file()), None)
    metrics = folder / "metrics.json"
    side = {"metrics": _json(metrics) if metrics.is_file() else None,
            "card": _json(card) if card else None, "folder": folder}
    if side["metrics"] is None and side["card"] is None:
        raise LabelingError(f"{folder}: neither a run folder (metrics.json) nor an exported "
                            f"model folder ({CARD})")
    return side


def shown(value) -> str:
    """``value`` as compare prints it: as it is, or as Python writes it (``'x\\x1b]0;'``)
    when it holds a control or bidirectional character: a handed-over card's names and
    keys never reach the terminal as escape sequences."""
    text = str(value)
    return ascii(text) if control_character(text) else text


def scores(side: dict) -> dict[tuple[str, str, str], str]:
    """``(model, split, metric) -> "0.9538"`` (``*`` marks in-sample scores)."""
    source = side["metrics"] or (side["card"] or {}).get("metrics") or {}
    multi = isinstance(source.get("multi_label"), dict)
    if multi:  # a multi-label run: every model it scored, by its macro/micro scores
        source = source["multi_label"].get("scores") or {}
    elif any(isinstance(v, dict) and "macro_f1" in (v.get("test") or {}) and "accuracy"
             not in v["test"] for v in source.values()):
        multi = True  # a multi-label model card
    out = {}
    for model in (list(source) if multi else MODELS):
        for split in ("dev", "test"):
            section = (source.get(model) or {}).get(split)
            if not isinstance(section, dict):
                continue
            names = [k for k in section if k != "n"] if multi else ("accuracy", "f1")
            for metric in names:
                if isinstance(section.get(metric), (int, float)) and not isinstance(
                        section[metric], bool):
                    out[(shown(model), split, shown(metric))] = (f"{section[metric]:.4f}"
                                                   + ("*" if section.get("in_sample") else ""))
    return out


def sources(side: dict) -> dict[str, str]:
    """File -> sha256 of the data files, LF modules and config the model was made from."""
    metrics = side["metrics"] or {}
    if isinstance(metrics.get("sources_at_train"), dict):
        out = {shown(k): v for k, v in metrics["sources_at_train"].items()}
        if metrics.get("config_at_train"):
            out["config"] = metrics["config_at_train"]
        return out
    files = (side["card"] or {}).get("training_files") or {}
    return {shown(role): f.get("sha256") for role, f in files.items() if isinstance(f, dict)}


def lfs(side: dict, described: bool = False) -> dict[str, str]:
    """LF name -> its fingerprint (metrics.json) or its card description. A run folder's
    are the LFs its end model was trained on (``lfs_at_train``), as its files are
    (``sources_at_train``): an ``apply`` since then gets a note (:func:`_applied_since`).
    ``described``: a card's LFs by their descriptions alone (the other card's have no
    fingerprint)."""
    metrics = side["metrics"] or {}
    applied = metrics.get("lfs_at_train", metrics.get("applied_lfs"))
    if isinstance(applied, dict):
        return {shown(name): str(fp) for name, fp in applied.items()}
    entries = [d for d in (side["card"] or {}).get("lfs") or [] if isinstance(d, dict)
               and "name" in d]
    return {shown(d["name"]): (None if described else d.get("fingerprint")) or json.dumps(
        {k: v for k, v in d.items() if k not in ("fingerprint", "code")}, sort_keys=True)
        for d in entries}


def code_entries(side: dict, names=None) -> dict:
    """LF name -> the build of labeling that applied it, with its own part (the
    :data:`~labeling.apply.applied.CODE_KEY` entry of its fingerprint), or None when
    not recorded (a run or card from before the record). A prompt LF has none: where
    one build applied the others, it is that build's."""
    metrics = side["metrics"]
    if metrics is not None:
        code = metrics.get(CODE_KEY) if isinstance(metrics.get(CODE_KEY), dict) else {}
        fps = metrics.get("lfs_at_train", metrics.get("applied_lfs")) or {}
        out = {shown(n): code.get(fp) for n, fp in fps.items()}
    else:
        out = {shown(d["name"]): d.get("code") for d in (side["card"] or {}).get("lfs") or []
               if isinstance(d, dict) and "name" in d}
    out = {n: e if isinstance(e, dict) else None for n, e in out.items()}
    found = {e.get("labeling") for e in out.values() if e}
    only = {"labeling": found.pop()} if len(found) == 1 else None
    return {n: e or only for n, e in out.items() if names is None or n in names}


def builds(side: dict) -> str | None:
    """The builds of labeling (:func:`~labeling.apply.applied.code_identity`) that
    applied a side's LFs, or None when none is recorded."""
    found = sorted({e["labeling"] for e in code_entries(side).values()
                    if e and e.get("labeling")})
    return ", ".join(shown(b) for b in found) or None


def facts(side: dict) -> dict[str, str]:
    """Rows per split and the models chosen, as short strings."""
    metrics, card = side["metrics"] or {}, side["card"] or {}
    out = {}
    for split, data in (metrics.get("data") or {}).items():
        if isinstance(data, dict) and "n" in data:
            out[f"{shown(split)} rows"] = shown(data["n"])
    lm, end = metrics.get("label_model") or {}, metrics.get("end_model") or {}
    out["label model"] = " ".join(shown(v) for v in (
        lm.get("name") or card.get("label_model"),
        lm.get("chosen") or card.get("label_model_chosen")) if v)
    card_end = card.get("end_model") or {}
    training = card.get("training") or {}
    out["end model"] = " ".join(shown(v) for v in (end.get("name") or card_end.get("name"),
                                                 end.get("label_mode") or
                                                 card_end.get("label_mode")) if v)
    weight = end.get("weak_weight", training.get("weak_weight"))
    if weight is not None:  # a multi-label card's: one per label
        out["weak weight"] = (f"{weight:g}" if isinstance(weight, (int, float))
                              else json.dumps(weight, sort_keys=True))
    trained = end.get("train_rows", training.get("weak_rows"))
    if trained is not None:
        out["weak rows trained on"] = shown(trained)
    if end.get("stale"):
        out["end model stale"] = "yes (trained before the last fit)"
    version = (card.get("versions") or {}).get("labeling")
    if version:
        out["labeling version"] = shown(version)
    # the version number stays the same across builds: the build that applied the LFs
    out["labeling build (apply)"] = builds(side) or "not recorded"
    if card.get("labeling_build"):
        out["labeling build (export)"] = shown(card["labeling_build"])
    return {k: v for k, v in out.items() if v}


def _pair_lines(a: dict, b: dict, same: str = "same") -> list[str]:
    lines = []
    for key in list(a) + [k for k in b if k not in a]:
        if key not in b:
            lines.append(f"  {key}: only in A")
        elif key not in a:
            lines.append(f"  {key}: only in B")
        elif a[key] != b[key]:
            lines.append(f"  {key}: changed")
        elif same:
            lines.append(f"  {key}: {same}")
    return lines


def _stale(side: dict) -> str | None:
    """Why a run folder's scores are not those of its last apply or fit, or None."""
    from labeling.artifacts import L_FILE, PROBS_FILE, made_from_another

    if made_from_another(side["folder"], L_FILE, PROBS_FILE):
        return "its scores predate its last `labeling apply` (fit and train not run since)"
    if made_from_another(side["folder"], PROBS_FILE, "end_model.skops"):
        return "its end model predates its last `labeling fit` (train not run since)"
    return None


def _applied_since(side: dict) -> str | None:
    """Which LFs the last ``apply`` changed since the end model was trained, or None."""
    metrics = side["metrics"] or {}
    then, now = metrics.get("lfs_at_train"), metrics.get("applied_lfs")
    if not isinstance(then, dict) or not isinstance(now, dict) or then == now:
        return None
    changed = [n for n in now if n in then and now[n] != then[n]]
    code = metrics.get(CODE_KEY) if isinstance(metrics.get(CODE_KEY), dict) else {}
    parts = explain([shown(n) for n in changed], *({shown(n): code.get(fps[n]) for n in changed}
                                                   for fps in (then, now)))
    parts += [f"{what}: {', '.join(names)}" for what, names in (
        ("added", [shown(n) for n in now if n not in then]),
        ("removed", [shown(n) for n in then if n not in now])) if names]
    what = ("by another build of labeling" if all(p.startswith("labeling was upgraded")
                                                  for p in parts) else "with other LFs")
    return (f"applied since its last `labeling train` {what} ({'; '.join(parts)}); "
            "the LFs and files below are those its end model was trained on")


def compare_lines(a: dict, b: dict) -> list[str]:
    """The report, line by line. Both sides are read the same way: from metrics.json
    when both are run folders, else from their model cards (a run folder never exported
    against a model folder stops: it has no card, and its metrics.json does not name
    files, LFs and models as a card does)."""
    if a["metrics"] is None or b["metrics"] is None:
        for name, side, other in (("A", a, "B"), ("B", b, "A")):
            if side["card"] is None:
                raise LabelingError(
                    f"{name} ({side['folder']}) has no model card ({CARD}) to compare with "
                    f"{other}'s: {other} is an exported model folder, read from its card; "
                    f"run `labeling export` on {name}'s run folder, or compare two run folders")
        a, b = a | {"metrics": None}, b | {"metrics": None}
    notes = [f"note: {name}: {why}" for name, side in (("A", a), ("B", b))
             if side["metrics"] is not None for why in (_stale(side), _applied_since(side))
             if why]
    lines = notes + [f"{'scores (* in-sample)':<32} {'A':>9} {'B':>9} {'B-A':>8}"]
    sa, sb = scores(a), scores(b)
    for key in list(sa) + [k for k in sb if k not in sa]:
        va, vb = sa.get(key, "-"), sb.get(key, "-")
        delta = ""
        if key in sa and key in sb:
            delta = f"{float(vb.rstrip('*')) - float(va.rstrip('*')):+.4f}"
        lines.append(f"{' '.join(key):<32} {va:>9} {vb:>9} {delta:>8}")
    lines.append("data, LF modules and config (sha256):")
    if not all(isinstance((s["metrics"] or {}).get("sources_at_train"), dict) for s in (a, b)):
        # a run from before the record (2026-12-06) against a newer one: paths against
        # the card's roles would all be 'only in' one side; both cards name files by role
        # and LFs by their descriptions, not a fingerprint against a description
        ca, cb = (s | {"metrics": None} if s["card"] else s for s in (a, b))
    else:
        ca, cb = a, b
    files = _pair_lines(sources(ca), sources(cb))
    lines += files or ["  not recorded"]
    described = any(not d.get("fingerprint") for s in (ca, cb) if s["metrics"] is None
                    for d in (s["card"] or {}).get("lfs") or [] if isinstance(d, dict))
    la, lb = lfs(ca, described), lfs(cb, described)
    added, removed = sorted(set(lb) - set(la)), sorted(set(la) - set(lb))
    changed = sorted(n for n in set(la) & set(lb) if la[n] != lb[n])
    modules = [line for line in files if line.strip().startswith("lf module")
               or line.split(":")[0].endswith(".py")]
    modules_same = bool(modules) and all(line.endswith(": same") for line in modules)
    # an LF changed with a labeling upgrade is not one its author edited
    ea, eb = code_entries(ca, changed), code_entries(cb, changed)
    for name in changed:  # a prompt LF's record is its requests, whatever the build
        if any(str(side.get(name)).startswith("prompt:") for side in (la, lb)):
            ea[name] = eb[name] = None
    parts = explain(changed, ea, eb, modules_same) if changed else []
    lines.append(f"LFs: {len(set(la) & set(lb)) - len(changed)} unchanged"
                 + "".join(f"; {part}" for part in parts)
                 + "".join(f"; {what}: {', '.join(names)}" for what, names in
                           (("added", added), ("removed", removed)) if names))
    if any(p.startswith("changed:") for p in parts) and modules_same:
        lines.append("  (their LF modules are the same: what those LFs call changed, e.g. "
                     "an installed library, labeling itself or the label set)")
    fa, fb = facts(a), facts(b)
    lines.append("runs:")
    for key in list(fa) + [k for k in fb if k not in fa]:
        va, vb = fa.get(key, "-"), fb.get(key, "-")
        lines.append(f"  {key}: {va}" if va == vb else f"  {key}: {va} -> {vb}")
    return lines


@app.command("compare")
@user_errors
def compare_command(a: Path = typer.Argument(..., metavar="A",
                                             help="The earlier run folder or exported "
                                                  "model folder."),
                    b: Path = typer.Argument(..., metavar="B", help="The later one.")):
    """Two runs side by side: dev and test scores, and what changed between them (data
    files, LF modules, config, LFs, rows, models chosen). Reads only their files."""
    for line in compare_lines(load_side(a), load_side(b)):
        typer.echo(line)
