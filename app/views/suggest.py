"""LF suggestions: proposed LFs scored on dev (never test); accept or reject each."""

import streamlit as st

import shared
from labeling.review.literal import literal
from labeling.review.suggestions import accept_one, propose, reject_one

st.title("Suggested LFs")
data = shared.run()
settings = shared.settings()
project, run_dir, annotations = settings["project"], settings["run_dir"], settings["annotations"]
st.caption("Proposed where the current LFs are weakest, mined offline from the dev gold and "
           "the label model's confident train rows, scored on dev only. Accepting appends "
           "the LF's code to your `<task>_suggested.py` (docs/suggest.md).")
left, middle, right = st.columns(3)
label = left.selectbox("Voting", ["any label", *data.labels], key="suggest_label")
n = middle.slider("How many", 1, 20, 10, key="suggest_n")
clusters = right.checkbox("Clusters of uncovered rows (MiniLM: slower the first time)",
                          value=True, key="suggest_clusters")
if st.button("Suggest LFs", type="primary", key="suggest_go"):
    with shared.guard(), st.spinner("Mining and scoring on dev…"):
        st.session_state["suggestions"] = propose(
            project, run_dir, None if label == "any label" else label, n, clusters, annotations)
found = st.session_state.get("suggestions")
if found is not None:
    table, reasons = found
    if reasons:
        st.caption("Left out: " + "; ".join(f"{c} {literal(w)}" for w, c in reasons.items()))
    if table.empty:
        st.info("No proposal passed the checks: nothing the dev gold says would help.")
    for pid, row in table.iterrows():
        title = (f"{row['label']} · {row['what']} · dev {row['dev_correct']}/{row['dev_fires']} "
                 f"right · score {row['score']:.3f}")
        with st.expander(literal(title)):
            st.write(f"precision {row['dev_precision']:.2f} (95% interval "
                     f"{row['dev_precision_low']:.2f}-{row['dev_precision_high']:.2f}), "
                     f"conflicts {row['dev_conflicts']}, train coverage "
                     f"{100 * row['train_coverage']:.1f}%, label model dev "
                     f"{row['lm_dev_before']:.3f} → {row['lm_dev_after']:.3f}; "
                     f"source {literal(row['source'])}")
            for ex in row["examples"]["dev"]:
                st.text(f"dev  {'right' if ex['correct'] else 'WRONG'} (gold {ex['gold']}): "
                        f"{ex['text']}")
            for ex in row["examples"]["train"]:
                st.text(f"train (label model {ex['label_model']}): {ex['text']}")
            a, r = st.columns(2)
            if a.button("Accept", key=f"accept_{pid}"):
                with shared.guard():
                    st.success(literal(accept_one(project, pid, run_dir, annotations)))
            if r.button("Reject", key=f"reject_{pid}"):
                with shared.guard():
                    st.success(literal(reject_one(project, pid, run_dir, annotations)))
