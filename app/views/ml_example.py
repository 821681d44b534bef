"""One example of a multi-label run: text, label sets, every vote, per-label table, your set."""

import streamlit as st

import ml_shared
import shared
from labeling.review import ml_detail
from labeling.review.literal import literal

st.title("Example detail")
with shared.guard():
    data = ml_shared.run()
    keys = [(s, i) for s in data.splits for i in data.frames[s]["id"]]
    wanted = st.session_state.get("ml_detail_id")
    split, example_id = st.selectbox("example", keys, key="ml_detail_select",
                                     index=keys.index(wanted) if wanted in keys else 0,
                                     format_func=lambda key: f"{key[0]} · {key[1]}")
    row = ml_detail.find_row(data, split, example_id)
    sets = ml_detail.summary(data, split, row)
    st.markdown(f"**{literal(example_id)}** · split **{split}**")
    shared.show_text(data.frames[split]["text"].iloc[row])
    cols = st.columns(5)
    for col, (key, title) in zip(cols, [("gold", "gold"), ("lfs", "LFs say applies"),
                                        ("label_model", "label model"),
                                        ("majority_vote", "majority vote"),
                                        ("end_model", "end model")]):
        col.metric(title, literal(sets[key]))
    saved = ml_detail.current_set(ml_shared.store(), data, split, example_id)
    st.header("Per label")
    st.dataframe(ml_detail.label_table(data, split, row, saved), hide_index=True,
                 key="ml_detail_labels")
    st.caption("1 = in the set. Each model decides a label when its probability reaches "
               "that label's threshold (tuned on dev).")
    st.header("Votes")
    st.dataframe(ml_detail.votes_table(data, split, row), hide_index=True,
                 key="ml_detail_votes")
    st.header("Your label set")
    if split == "test":
        st.warning("Test labels are stored but never used as dev gold (test stays held out).")
    ml_shared.label_set_editor(data, split, row, key="ml_detail_ann")
