"""Entry file of the review app: picks the pages for the project's state and runs one.

    streamlit run app/streamlit_app.py -- --project PATH [--run-dir DIR]
    (or LABELING_PROJECT=PATH; ``labeling app PATH`` does this for you)

A broken config (or data file) shows its one-line error; a task without a run, or whose
run folder does not load (a run stopped half-way, or one going), the run page only.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import shared` from the pages

import streamlit as st  # noqa: E402

import annotating  # noqa: E402
import ml_shared  # noqa: E402 -- the pages of multi-label tasks
import shared  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.review.literal import literal  # noqa: E402
from labeling.review.project import NoRunError  # noqa: E402

st.set_page_config(page_title="labeling review", page_icon=":material/label:", layout="wide")
# Streamlit slides a collapsed sidebar (the default below ~768 px: a laptop at 200% zoom)
# off screen but leaves its links and name box in the Tab order: a dozen invisible stops
# before the page. Hidden, they leave it; "Expand sidebar" shows them again.
_COLLAPSED = '[data-testid="stSidebar"][data-collapsed="true"]'  # (a label sets "visible")
st.html(f"<style>{_COLLAPSED}, {_COLLAPSED} * {{visibility: hidden !important}}</style>")

VIEWS = Path(__file__).resolve().parent / "views"
FULL = [("overview.py", "Overview", ":material/dashboard:", "overview"), ("lfs.py", "LF table", ":material/table:", "lfs"),
        ("conflicts.py", "Conflicts", ":material/compare_arrows:", "conflicts"), ("slices.py", "Slices", ":material/filter_alt:", "slices"),
        ("example.py", "Example detail", ":material/search:", "example"),
        ("end_model.py", "End model", ":material/target:", "end-model"),
        ("suggest.py", "Suggested LFs", ":material/lightbulb:", "suggest"),
        ("annotate.py", "Annotate", ":material/edit_note:", "annotate"), ("run.py", "Run pipeline", ":material/play_arrow:", "run")]


def RUN_ONLY() -> list:  # noqa: N802 -- the page list, as FULL; the name box for the run's line
    annotating.annotator_field()
    return [st.Page(VIEWS / "run.py", title="Run pipeline", icon=":material/play_arrow:",
                    url_path="run", default=True)]


state, multi = "ok", False
try:
    multi = ml_shared.multi_label()  # multi_label = true: ml_shared.PAGES instead of FULL
    data = ml_shared.run() if multi else shared.run()
except NoRunError as exc:
    state, message = "no-run", str(exc)
except LabelingError as exc:
    state, message = "error", str(exc)
except Exception as exc:  # noqa: BLE001 -- never a raw traceback in the UI
    state, message = "error", f"cannot load the run ({type(exc).__name__}): {exc}"

if busy := shared.busy():  # a run writing the folder: the pages show the last finished run
    st.info(literal(busy), icon=":material/hourglass_top:")
if state == "ok":
    pages = [st.Page(VIEWS / f, title=t, icon=i, url_path=u, default=(u == "overview"))
             for f, t, i, u in (ml_shared.PAGES if multi else FULL)]
    st.sidebar.caption(f"task **{literal(data.config.name)}** · run {literal(data.run_dir)}")
    annotating.annotator_field()
    if drift := shared.drift_note(data):  # stale results are never shown as current
        st.warning(literal(drift[0]), icon=":material/history:")
        if drift[1]:  # after an upgrade, most LFs: names behind an expander, not in the line
            with st.expander("Which LFs changed"):
                st.markdown("\n".join(f"- {literal(part)}" for part in drift[1]))
    if gold_note := shared.gold_note(data):  # the last finished run's while one goes on
        st.warning(literal(gold_note), icon=":material/history:")
elif state == "no-run":
    st.session_state["no_run_message"] = message
    pages = RUN_ONLY()
elif shared.inputs_error():  # the config or a data file: for the user to fix
    st.title("labeling review")
    st.error(literal(message))
    st.info("Fix the config (or point the app at another project with "
            "`labeling app PATH`) and reload the page.")
    pages = []
else:  # the run folder's (a run stopped half-way, or one going): a new run mends it
    st.error(literal(message))
    pages = RUN_ONLY()

if pages:
    st.navigation(pages).run()
