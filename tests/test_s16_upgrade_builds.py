"""A labeling upgrade is not an LF edit (h116's defects, reproduced by h125 with a
worktree of d164fb7 run on the bundled task, then `labeling fit` with today's code).

An LF's fingerprint covers the labeling code it calls (keyword_lf's helpers, PatternLF's
vote): after an upgrade, `labeling fit` said "applied with other LFs than the task's now
(changed: kw_subscribe, re_check_out, ...)" and `labeling compare` "changed: kw_money,
..." of LFs nobody touched. `__version__` is "0.1.0" in every build, so nothing told the
builds apart. Now each apply records, per fingerprint, the build of labeling that took
it (version + a digest of its sources) and the LF's own part (its fingerprint with
labeling's code named, not read), and the messages say "labeling was upgraded (x -> y);
these LFs' votes may differ: ..."."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

from typer.testing import CliRunner

from labeling import keyword_lf, labeling_function, pipeline
from labeling.apply import applied
from labeling.apply.fingerprint import lf_fingerprint
from labeling.cli import app
from labeling.errors import LabelingError

sys.path.insert(0, str(Path(__file__).parent))
from conftest import one_error_line  # noqa: E402
from test_h115_compare_after_apply import _task  # noqa: E402  (kw_money, kw_song)

OLD_BUILD = "0.1.0+000000000000"


def _steps(config, *steps):
    task = pipeline.load_task(config)
    for step in steps:
        getattr(pipeline, f"step_{step}")(task, **({"progress": False} if step == "apply" else {}))
    return task


def _edit_metrics(run: Path, edit) -> None:
    path = run / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    edit(metrics)
    path.write_text(json.dumps(metrics), encoding="utf-8")


def _as_another_build_applied(metrics: dict, names, build=OLD_BUILD, own=True) -> None:
    """What metrics.json holds after an apply by ``build``, whose labeling code gave
    ``names`` other fingerprints (their own part the same when ``own``)."""
    for name in names:
        for key in ("applied_lfs", "lfs_at_train"):
            if key not in metrics:
                continue
            fp = metrics[key][name]
            entry = dict((metrics.get("applied_code") or {}).get(fp) or {})
            old = hashlib.sha256(f"{build} {name}".encode()).hexdigest()
            metrics[key][name] = old
            metrics.setdefault("applied_code", {})[old] = entry | {"labeling": build} | (
                {} if own else {"own": "1" * 64, "modules": "2" * 64})


def test_the_build_is_the_version_and_a_digest_of_the_sources(tmp_path):
    build = applied.code_identity()
    assert re.fullmatch(r"0\.1\.0\+[0-9a-f]{12}", build), build
    assert applied.code_identity() is build  # once per process
    root = tmp_path / "pkg"
    (root / "lf").mkdir(parents=True)
    (root / "lf" / "core.py").write_text("X = 1\n", encoding="utf-8")
    before = applied.source_digest(root)
    (root / "lf" / "core.py").write_text("X = 2\n", encoding="utf-8")
    assert applied.source_digest(root) != before
    (root / "lf" / "core.py").rename(root / "core.py")  # the same bytes elsewhere
    assert len({before, applied.source_digest(root)}) == 2


def _labeling_helper(version: int):
    """A function of labeling's own code (as keyword_lf's helpers are), in two builds."""
    if version == 1:
        def helper(text):
            return "spam" in text
    else:
        def helper(text):
            return "spam" in text.lower()
    helper.__module__ = "labeling.lf.fake_helpers"
    helper.__qualname__ = "helper"
    return helper


def _lf_using(helper, words=("spam",)):
    @labeling_function(name="uses_helper")
    def uses_helper(x):
        return 1 if helper(x.text) and words else -1
    return uses_helper


def test_the_own_part_ignores_labelings_code_and_sees_the_users():
    one, two = _lf_using(_labeling_helper(1)), _lf_using(_labeling_helper(2))
    assert lf_fingerprint(one, 2) != lf_fingerprint(two, 2)  # the cache: votes may differ
    assert lf_fingerprint(one, 2, own=True) == lf_fingerprint(two, 2, own=True)
    edited = _lf_using(_labeling_helper(1), words=("spam", "eggs"))
    assert lf_fingerprint(edited, 2, own=True) != lf_fingerprint(one, 2, own=True)
    kw = keyword_lf(["cash"], label=1, name="kw")
    assert lf_fingerprint(kw, 2, own=True) != lf_fingerprint(
        keyword_lf(["money"], label=1, name="kw"), 2, own=True)


def test_fit_after_an_upgrade_says_so_and_names_no_lf_changed(tmp_path):
    """Before: 'applied with other LFs than the task's now (changed: kw_money)'."""
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit").run_dir
    _edit_metrics(run, lambda m: _as_another_build_applied(m, ["kw_money"]))
    result = CliRunner().invoke(app, ["fit", str(config)])
    one_error_line(result, f"labeling was upgraded ({OLD_BUILD} -> "
                           f"{applied.code_identity()}); these LFs' votes may differ: "
                           "kw_money; run `labeling apply` before `labeling fit`")
    assert "changed" not in result.output and "other LFs" not in result.output


def test_an_lf_edited_across_an_upgrade_is_still_changed(tmp_path):
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit").run_dir
    _edit_metrics(run, lambda m: (_as_another_build_applied(m, ["kw_money"]),
                                  _as_another_build_applied(m, ["kw_song"], own=False)))
    one_error_line(CliRunner().invoke(app, ["fit", str(config)]),
                   "applied with other LFs than the task's now (labeling was upgraded (",
                   "votes may differ: kw_money; changed: kw_song)")


def test_an_edit_without_an_upgrade_is_changed_as_before(tmp_path):
    config = _task(tmp_path)
    _steps(config, "apply", "fit")
    lfs = tmp_path / "lfs.py"
    lfs.write_text(lfs.read_text().replace('"cash"]', '"cash", "bitcoin"]'), encoding="utf-8")
    one_error_line(CliRunner().invoke(app, ["fit", str(config)]),
                   "applied with other LFs than the task's now (changed: kw_money)")


def test_a_run_of_a_build_from_before_the_record_is_read(tmp_path):
    """A run folder of an older labeling has applied_lfs but no applied_code: its
    fingerprints may differ by labeling's code alone, or by an edit; it cannot tell."""
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit").run_dir

    def older(metrics):
        _as_another_build_applied(metrics, ["kw_money", "kw_song"])
        del metrics["applied_code"]
    _edit_metrics(run, older)
    one_error_line(CliRunner().invoke(app, ["fit", str(config)]),
                   "labeling was upgraded (an earlier build -> ",
                   "these LFs' votes may differ (or they were edited): kw_money, kw_song")
    _steps(config, "apply", "fit")  # and it is applied again as usual


def test_compare_tells_an_upgrade_from_an_edit(tmp_path):
    """Before: 'LFs: 1 unchanged; changed: kw_money' of two runs whose LF modules are
    the same, with '(their LF modules are the same: ... labeling itself ...)'."""
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit", "train", "export").run_dir
    old = tmp_path / "runs" / "t-old"
    shutil.copytree(run, old)
    _edit_metrics(old, lambda m: _as_another_build_applied(m, ["kw_money"]))
    out = CliRunner().invoke(app, ["compare", str(old), str(run)])
    assert out.exit_code == 0, out.output
    build = applied.code_identity()
    assert (f"LFs: 1 unchanged; labeling was upgraded ({OLD_BUILD} -> {build}); these "
            "LFs' votes may differ: kw_money\n") in out.output, out.output
    assert f"labeling build (apply): {OLD_BUILD}, {build} -> {build}" in out.output
    assert "changed: kw_money" not in out.output


def test_the_card_records_the_builds_and_compare_reads_an_old_card(tmp_path):
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit", "train", "export").run_dir
    card = json.loads((run / "model" / "model_card.json").read_text(encoding="utf-8"))
    build = applied.code_identity()
    assert card["labeling_build"] == build
    assert {lf["code"]["labeling"] for lf in card["lfs"]} == {build}
    old = tmp_path / "old-model"
    shutil.copytree(run / "model", old)
    del card["labeling_build"]  # a card of a build from before the record
    for lf in card["lfs"]:
        del lf["code"]
        del lf["fingerprint"]
        if lf["name"] == "kw_money":  # that build's keyword_lf made another pattern
            lf["pattern"] = lf["pattern"].replace("money", "(?:money)")
    (old / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    out = CliRunner().invoke(app, ["compare", str(old), str(run / "model")])
    assert out.exit_code == 0, out.output
    assert (f"LFs: 1 unchanged; labeling was upgraded (an earlier build -> {build}); "
            "these LFs' votes may differ: kw_money\n") in out.output, out.output
    assert f"labeling build (apply): not recorded -> {build}" in out.output
    assert f"labeling build (export): - -> {build}" in out.output


def test_a_partial_apply_after_an_upgrade_keeps_no_lf_it_calls_edited(tmp_path):
    """`labeling apply --lf kw_song` after an upgrade keeps kw_money's old build's votes;
    the same task's `fit` said 'applied with other LFs than the task's now (changed:
    kw_money)'."""
    config = _task(tmp_path)
    run = _steps(config, "apply").run_dir
    _edit_metrics(run, lambda m: _as_another_build_applied(m, ["kw_money", "kw_song"]))
    task = pipeline.load_task(config)
    pipeline.step_apply(task, only=["kw_song"], progress=False)
    assert task.unapplied_edits == ["kw_money"]  # the apply's note names it
    assert applied.kept_changed(task) == [
        f"labeling was upgraded ({OLD_BUILD} -> {applied.code_identity()}); these LFs' "
        "votes may differ: kw_money"]
    try:
        pipeline.step_fit(task)
    except LabelingError as exc:
        message = str(exc)
    assert message.endswith("L.parquet: labeling was upgraded "
                            f"({OLD_BUILD} -> {applied.code_identity()}); these LFs' votes "
                            "may differ: kw_money; run `labeling apply` before `labeling fit`")


def test_compares_note_on_an_apply_since_the_train_tells_an_upgrade(tmp_path):
    """An apply after an upgrade, no train since: the note said 'applied since its last
    `labeling train` with other LFs (changed: kw_money)'."""
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit", "train").run_dir

    def trained_by_another_build(metrics):
        _as_another_build_applied(metrics, ["kw_money"])  # both records
        fp = json.loads((run / "metrics.json").read_text())["applied_lfs"]["kw_money"]
        metrics["applied_lfs"]["kw_money"] = fp  # applied again by this build since
    _edit_metrics(run, trained_by_another_build)
    out = CliRunner().invoke(app, ["compare", str(run), str(run)])
    assert out.exit_code == 0, out.output
    assert ("note: A: applied since its last `labeling train` by another build of labeling "
            f"(labeling was upgraded ({OLD_BUILD} -> {applied.code_identity()}); these "
            "LFs' votes may differ: kw_money)") in out.output, out.output


def test_an_lf_turned_into_a_prompt_lf_across_an_upgrade_is_changed():
    """A prompt LF has no build record: it is this build's, not 'an earlier build'
    (before: 'labeling was upgraded (0.1.0+000000000000 -> an earlier build)...')."""
    from types import SimpleNamespace

    config = SimpleNamespace(cardinality=2, lfs=[])
    lf = keyword_lf(["cash"], label=1, name="kw")
    old = {"labeling": OLD_BUILD, "own": "1" * 64, "modules": "2" * 64}
    assert applied._told_apart(["kw"], {"kw": "f" * 64}, [lf], {"kw": "prompt:" + "a" * 64},
                               config, {"f" * 64: old}) == ["changed: kw"]


def test_compare_takes_a_prompt_lf_for_its_runs_build(tmp_path):
    """A prompt LF has no build record: compare took it for 'an earlier build's'."""
    from labeling.cli.compare_commands import code_entries

    entry = {"labeling": OLD_BUILD, "own": "1" * 64, "modules": "2" * 64}
    side = {"metrics": {"applied_lfs": {"kw": "a" * 64, "llm": "prompt:" + "b" * 64},
                        "applied_code": {"a" * 64: entry}}, "card": None}
    assert code_entries(side, ["llm"]) == {"llm": {"labeling": OLD_BUILD}}
    assert code_entries(side) == {"kw": entry, "llm": {"labeling": OLD_BUILD}}


def test_an_edited_prompt_lf_is_changed_whatever_the_build():
    """Prompt LFs have no build record on either side: an edit is 'changed'."""
    from types import SimpleNamespace

    lf = keyword_lf(["cash"], label=1, name="llm")  # stands for it: its fingerprint is given
    assert applied._told_apart(["llm"], {"llm": "prompt:" + "f" * 64}, [lf],
                               {"llm": "prompt:" + "a" * 64}, SimpleNamespace(cardinality=2),
                               {}) == ["changed: llm"]


def test_compare_calls_an_edited_prompt_lf_changed_beside_an_older_run(tmp_path):
    """A prompt LF's fingerprint is its requests: against a run of an earlier build it
    was 'labeling was upgraded (an earlier build -> y); ... (or they were edited)'."""
    from labeling.cli.compare_commands import compare_lines

    entry = {"labeling": OLD_BUILD, "own": "1" * 64, "modules": "2" * 64}
    old = {"metrics": {"applied_lfs": {"llm": "prompt:" + "a" * 64}}, "card": None,
           "folder": tmp_path}
    new = {"metrics": {"applied_lfs": {"llm": "prompt:" + "b" * 64, "kw": "c" * 64},
                       "applied_code": {"c" * 64: entry}}, "card": None, "folder": tmp_path}
    lines = compare_lines(old, new)
    assert "LFs: 0 unchanged; changed: llm; added: kw" in lines, lines


def test_an_lf_whose_own_part_changed_but_not_its_modules_may_have_been_edited():
    # r128: its keywords read from a helper module or data file the config does not list
    # changed across an upgrade: "labeling was upgraded ... may differ: a" called the
    # edit an upgrade; now the message says it may have been edited
    then = {"a": {"labeling": "x", "own": "o1", "modules": "m"}}
    now = {"a": {"labeling": "y", "own": "o2", "modules": "m"}}
    assert applied.explain(["a"], then, now) == [
        "labeling was upgraded (x -> y); these LFs' votes may differ (or they were edited): a"]
    same_own = {"a": {"labeling": "y", "own": "o1", "modules": "m2"}}
    assert applied.explain(["a"], then, same_own) == [
        "labeling was upgraded (x -> y); these LFs' votes may differ: a"]
