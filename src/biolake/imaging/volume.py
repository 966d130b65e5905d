"""Image volumes: voxels in ``(z, y, x)`` order with their physical geometry.

:class:`Volume` is defined with the image readers in :mod:`biolake.io.images` (the
readers return it; ``io`` may not import a domain) and re-exported here.

Examples
--------
>>> import numpy as np
>>> v = Volume(np.zeros((2, 3, 4)), spacing=(0.5, 0.5, 2.0))
>>> v.spacing_zyx
(2.0, 0.5, 0.5)
>>> v.physical_point((0, 0, 1))
array([0.5, 0. , 0. ])
"""

from biolake.io.images import Volume

__all__ = ["Volume"]
