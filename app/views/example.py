"""Example detail: text, every LF's vote, prompts and replies, predictions."""

import json

import streamlit as st

import annotating
import shared
from labeling.review import detail
from labeling.review.literal import literal

st.title("Example detail")
with shared.guard():
    data = shared.run()
    # (split, id): ids are unique only within a split
    keys = [(s, i) for s in data.splits for i in data.frames[s]["id"]]
    wanted = st.session_state.get("detail_id")
    split, example_id = st.selectbox("example", keys, key="detail_select",
                                     index=keys.index(wanted) if wanted in keys else 0,
                                     format_func=lambda key: f"{key[0]} · {key[1]}")
    split, row = detail.find_example(data, example_id, split)
    info = detail.example_summary(data, split, row)
    st.markdown(f"**{literal(info['id'])}** · split **{split}** · "
                f"gold **{literal(info['gold'] or '—')}**")
    shared.show_text(info["text"])
    c1, c2, c3 = st.columns(3)
    c1.metric("label model", literal(info["label_model"]))
    c2.metric("majority vote", literal(info["majority_vote"]))
    try:
        proba = shared.end_model_proba()[split][row]
        best = int(proba.argmax())
        c3.metric("end model", literal(data.labels[best]), help=f"probability {proba[best]:.3f}")
    except Exception as exc:  # noqa: BLE001 -- the rest of the page is still useful
        c3.warning(f"End model unavailable: {literal(exc)}")
    left, right = st.columns(2)
    prompt_lfs = set(data.metrics.get("llm", {}).get("lfs", {}))
    left.header("Votes")
    left.dataframe(detail.votes_table(data, split, row, prompt_lfs), hide_index=True,
                   height="content")  # every LF's vote, not ten and a scrollbar
    right.header("Label-model probabilities")
    right.dataframe(detail.probabilities(data, split, row), hide_index=True, column_config={
        "probability": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                       format="%.3f")})
    if not info["covered"]:
        right.caption("No LF voted: these are the class prior.")
    if prompt_lfs:
        st.header("Prompt LFs")
        for item in detail.prompt_details(data, shared.lfs(), split, row):
            with st.expander(literal(f"{item['lf']} → {item['vote']} ({item['backend']})"),
                             expanded=True):
                st.caption("prompt" + (" (as sent)" if "reply" in item else ""))
                st.code(detail.render_messages(item["messages"]), language=None,
                        wrap_lines=True)  # the text in the prompt is often one long line
                if "reply" in item:
                    st.caption("raw reply (from the response cache)")
                    st.code(item["reply"] or "(empty)", language="json", wrap_lines=True)
                    st.caption(literal(
                        f"answer {item['answer']!r}"
                        + (f" · rejected: {item['reason']}" if item["reason"] else "")
                        + f" · tokens {item['tokens_in']}/{item['tokens_out']}"
                        + f" · ${item['cost']:.6f} · {item['latency_s']} s"))
                if "note" in item:
                    st.info(literal(item["note"]))
                if "descriptions" in item:
                    st.code(json.dumps(item["descriptions"], indent=2), language="json",
                            wrap_lines=True)
    st.header("Your label")
    annotating.annotate_buttons(data, example_id, split, key="detail_ann")
