"""Running LFs over data: the label matrix."""

from labeling.apply.applier import apply_lfs
from labeling.apply.votes import FaultLog, matrix_dtype
from labeling.lf.core import as_lfs_see_it

__all__ = ["FaultLog", "apply_lfs", "as_lfs_see_it", "matrix_dtype"]
