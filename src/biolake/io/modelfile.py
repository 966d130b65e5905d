"""Model files: a joblib pickle with a JSON sidecar, written atomically, read with one error form.

A model file ``MODEL`` holds the fitted objects (a trusted joblib pickle: load only files you
trust); ``MODEL.json`` holds the metadata as JSON so people and tools can read it without
Python. Both are written to temporary names first and renamed into place, so a crash never
leaves a half-written model. Used by ``precision risk``, ``imaging classify`` and
``discovery model``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from biolake.errors import InputError

__all__ = ["load_model_file", "save_model_file"]


def save_model_file(path: str | os.PathLike[str], payload: Any, *, meta: dict[str, Any]) -> None:
    """Write ``payload`` (joblib) to ``path`` and ``meta`` (JSON) to ``path.json``, each atomically."""
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump(payload, tmp)
    side = Path(str(path) + ".json")
    side_tmp = side.with_name(side.name + ".tmp")
    side_tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    os.replace(side_tmp, side)


def load_model_file(path: str | os.PathLike[str], *, what: str, missing: str = "no such model file") -> Any:
    """The object in a model file; ``InputError`` naming the file when it is absent (``missing``)
    or not a joblib pickle (``not a biolake {what}``)."""
    import joblib

    p = Path(path)
    if not p.is_file():
        raise InputError(missing, file=str(p))
    try:
        return joblib.load(p)
    except Exception as exc:  # joblib raises many types for a bad file
        raise InputError(f"not a biolake {what} ({type(exc).__name__})", file=str(p)) from None
