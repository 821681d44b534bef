"""lf_warnings names the one class every LF votes by its label, not its index."""

import numpy as np

from labeling.analysis import lf_warnings


def test_one_voted_class_is_named_by_its_label():
    L = np.array([[5, -1], [-1, 5], [5, 5]])
    labels = ["DESC", "ENTY", "HUM", "ABBR", "LOC", "NUM"]
    warnings = lf_warnings(L, ["a", "b"], 6, labels=labels)
    assert "every LF votes class 'NUM' or abstains" in warnings[-1]


def test_without_labels_the_index_is_kept():
    L = np.array([[1, -1], [-1, 1]])
    assert "every LF votes class 1 or abstains" in lf_warnings(L, ["a", "b"], 2)[-1]
