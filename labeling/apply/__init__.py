"""Running LFs over data: the label matrix."""

from labeling.apply.applier import apply_lfs, as_lfs_see_it
from labeling.apply.votes import FaultLog, matrix_dtype

__all__ = ["FaultLog", "apply_lfs", "as_lfs_see_it", "matrix_dtype"]
