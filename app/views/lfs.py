"""LF table: per-LF statistics with column help, a total row and inline warnings."""

import streamlit as st

import shared
from labeling.review.lf_table import COLUMN_HELP, lf_table
from labeling.review.literal import literal

st.title("Labeling functions")
with shared.guard():
    data = shared.run()
    table, total, general = lf_table(data)
    for text in general:
        st.warning(literal(text))
    flagged = table[table["warnings"] != ""]
    if len(flagged):
        st.warning(f"{len(flagged)} LF(s) with warnings: "
                   + ", ".join(literal(name) for name in flagged["lf"]))
    number = {"coverage", "overlaps", "conflicts", "dev_coverage", "dev_accuracy",
              "learned_accuracy"}
    config = {}
    for column in table.columns:
        help_text = COLUMN_HELP.get(column)
        if column in number:
            config[column] = st.column_config.NumberColumn(column, help=help_text, format="%.3f")
        elif column == "llm_cost":
            config[column] = st.column_config.NumberColumn("llm_cost ($)", help=help_text,
                                                           format="%.4f")
        elif column == "warnings":
            config[column] = st.column_config.TextColumn("⚠ warnings", help=help_text,
                                                         width="large")
        else:  # the LF's name stays in view when the table scrolls sideways
            config[column] = st.column_config.Column(column, help=help_text,
                                                     pinned=column == "lf" or None)
    st.caption("Click a column header to sort; hover it for its definition, or open "
               "“What the columns mean” below the table.")
    # every LF in view at once (the default height shows ten rows and scrolls the rest)
    st.dataframe(table, hide_index=True, column_config=config, key="lf_table", height="content")
    st.caption("Total over all LFs (not sortable with the rows above):")
    st.dataframe(total, hide_index=True, column_config=config, key="lf_total")
    with st.expander("What the columns mean"):  # a header's tooltip needs a mouse
        st.markdown("\n".join(f"- **{literal(c)}**: {literal(COLUMN_HELP[c])}"
                              for c in table.columns if c in COLUMN_HELP))
    if not len(flagged) and not general:
        st.success("The run raised no LF warnings.")
