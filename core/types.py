"""Array type aliases and the default float precision shared by every core module."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.integer]

# float32 halves memory and doubles GEMM speed; gradient checks pass float64 explicitly.
DEFAULT_DTYPE = np.float32
