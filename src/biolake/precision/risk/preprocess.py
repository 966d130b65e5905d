"""Declared preprocessing of a risk model: coding, missing values, scaling — stored with the model.

Each raw feature column becomes design columns:

* a numeric column is used as it is (name = the column's name);
* a text column is one-hot coded with the first sorted level as the baseline (names = column
  name + level, R style, as ``precision risk survival``);
* missing values (``missing``): ``"drop"`` leaves rows with a missing feature out of training
  (and gives them no prediction); ``"mean"``/``"median"`` fill numeric columns with the
  training mean/median and text columns with their most frequent level; ``"indicator"`` fills
  like ``"mean"`` and adds a 0/1 column ``<name>_missing`` for every feature that had missing
  values in training;
* with ``scale=True`` (the lasso, whose penalty depends on the units) every design column is
  standardised with the training mean and standard deviation (ddof 0).

All of it is fitted on training rows only (inside each cross-validation fold too) and kept as
plain JSON (:meth:`Preprocessor.to_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError

__all__ = ["MISSING", "FeatureSpec", "Preprocessor"]

MISSING = ("drop", "mean", "median", "indicator")


def is_text(series: pd.Series) -> bool:
    """True for a column that is neither numeric nor boolean."""
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


@dataclass
class FeatureSpec:
    """How one raw column becomes design columns."""

    name: str
    kind: str
    """``numeric`` or ``text``."""
    levels: list[str] = field(default_factory=list)
    """Text levels, the baseline first."""
    fill: Any = None
    """The value that replaces a missing one (None: rows with a missing value are not predicted)."""
    indicator: bool = False
    """Whether a ``<name>_missing`` column is added."""


@dataclass
class Preprocessor:
    """Fitted preprocessing (see the module)."""

    features: list[FeatureSpec]
    missing: str
    scale: bool
    columns: list[str]
    """Design column names."""
    center: list[float]
    """Training mean of each design column (used by contributions; the centre of scaling)."""
    sd: list[float]
    """Training standard deviation of each design column (1 where not scaled or constant)."""

    @classmethod
    def fit(cls, frame: pd.DataFrame, features: list[str], *, missing: str, scale: bool) -> Preprocessor:
        specs: list[FeatureSpec] = []
        for col in features:
            series = frame[col]
            has_na = bool(series.isna().any())
            if is_text(series):
                present = series.dropna().astype(str)
                levels = sorted(set(present.tolist()))
                if not levels:
                    raise InputError(f"feature {col!r} has no values", column=col)
                fill = None
                if missing != "drop":
                    counts = present.value_counts()
                    fill = str(sorted(counts[counts == counts.max()].index)[0])
                specs.append(FeatureSpec(col, "text", levels, fill, has_na and missing == "indicator"))
            else:
                values = series.to_numpy(dtype=float, na_value=np.nan)
                fill = None
                if missing in ("mean", "indicator"):
                    fill = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
                elif missing == "median":
                    fill = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
                specs.append(FeatureSpec(col, "numeric", [], fill, has_na and missing == "indicator"))
        pre = cls(specs, missing, scale, [], [], [])
        pre.columns = [c for s in specs for c in pre._names(s)]
        x, ok = pre.transform(frame, check=False, standardise=False)
        xs = x[ok]
        pre.center = xs.mean(axis=0).tolist() if len(xs) else [0.0] * x.shape[1]
        sd = xs.std(axis=0) if len(xs) else np.ones(x.shape[1])
        pre.sd = np.where(sd > 0, sd, 1.0).tolist() if scale else [1.0] * x.shape[1]
        return pre

    @staticmethod
    def _names(spec: FeatureSpec) -> list[str]:
        names = [spec.name] if spec.kind == "numeric" else [f"{spec.name}{lev}" for lev in spec.levels[1:]]
        return names + ([f"{spec.name}_missing"] if spec.indicator else [])

    def transform(
        self, frame: pd.DataFrame, *, check: bool = True, standardise: bool = True, source: str = "data"
    ) -> tuple[np.ndarray, np.ndarray]:
        """The design matrix and which rows could be coded (False: a missing value under ``drop``)."""
        n = len(frame)
        blocks: list[np.ndarray] = []
        ok = np.ones(n, dtype=bool)
        for spec in self.features:
            series = frame[spec.name]
            na = series.isna().to_numpy()
            if spec.kind == "text":
                text = series.astype(object).where(~series.isna(), None).to_numpy()
                text = np.array([None if v is None else str(v) for v in text], dtype=object)
                if check:
                    unseen = sorted({v for v in text[~na]} - set(spec.levels))
                    if unseen:
                        raise InputError(
                            f"level(s) {', '.join(repr(u) for u in unseen[:5])} not seen in training "
                            f"(levels: {', '.join(spec.levels)})",
                            file=source,
                            column=spec.name,
                        )
                if spec.fill is not None:
                    text[na] = spec.fill
                for level in spec.levels[1:]:
                    blocks.append((text == level).astype(float)[:, None])
            else:
                if is_text(series):
                    conv = pd.to_numeric(series, errors="coerce")
                    bad = conv.isna() & series.notna()
                    if bad.any():
                        row = int(np.flatnonzero(bad.to_numpy())[0])
                        raise InputError(
                            f"feature must be numeric (as in training); got {series.iloc[row]!r}",
                            file=source,
                            record=row + 1,
                            column=spec.name,
                        )
                    series = conv
                values = series.to_numpy(dtype=float, na_value=np.nan)
                if spec.fill is not None:
                    values = np.where(np.isnan(values), spec.fill, values)
                blocks.append(values[:, None])
            if spec.fill is None:
                ok &= ~na
            if spec.indicator:
                blocks.append(na.astype(float)[:, None])
        x = np.hstack(blocks) if blocks else np.empty((n, 0))
        x = np.where(ok[:, None], x, np.nan)
        if not np.isfinite(x[ok]).all():
            raise InputError("feature values must be finite", file=source)
        if standardise and self.scale:
            x = (x - np.asarray(self.center)) / np.asarray(self.sd)
        return x, ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "missing": self.missing,
            "scale": self.scale,
            "columns": self.columns,
            "center": self.center,
            "sd": self.sd,
            "features": [asdict(s) for s in self.features],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        return cls(
            [FeatureSpec(**f) for f in data["features"]],
            data["missing"],
            data["scale"],
            list(data["columns"]),
            list(data["center"]),
            list(data["sd"]),
        )
