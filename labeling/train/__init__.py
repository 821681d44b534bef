"""End models trained on the label model's output (see :mod:`labeling.train.end_model`).

What a saved end model may contain is listed where it is loaded:
:data:`labeling.export.skops_io.TRUSTED_TYPES`.
"""
