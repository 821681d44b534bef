"""Running LFs over data: the label matrix."""

from labeling.apply.applier import FaultLog, apply_lfs, matrix_dtype

__all__ = ["FaultLog", "apply_lfs", "matrix_dtype"]
