"""Logic behind the review app (``labeling app``): everything the app shows is computed here.

Why a package apart from ``app/``: Streamlit scripts are hard to test; these are plain
functions over a run's artifacts (tested with pytest), and ``app/`` only lays them out.

* :mod:`.project`: where the task and its run are, and loading a run's artifacts;
* :mod:`.examples`: the per-example table (votes, gold, probabilities) the views filter;
* :mod:`.overview`, :mod:`.lf_table`, :mod:`.conflicts`, :mod:`.slices`, :mod:`.detail`,
  :mod:`.end_model`: one view each;
* :mod:`.annotations`: the SQLite annotation store, read back as dev gold;
* :mod:`.runner`: running the pipeline from the app with progress;
* :mod:`.launch`: the ``labeling app`` command's ``streamlit run`` line;
* :mod:`.sample`: a small copy of a task for tests and quick looks.
"""
