"""Model files: joblib payload + JSON sidecar, atomic writes, one error form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biolake.errors import InputError
from biolake.io.modelfile import load_model_file, save_model_file


def test_save_model_file__round_trip_and_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.joblib"
    save_model_file(path, {"weights": [1.5, 2.0], "meta": {"a": 1}}, meta={"a": 1, "name": "x"})
    assert load_model_file(path, what="model file") == {"weights": [1.5, 2.0], "meta": {"a": 1}}
    assert json.loads(Path(str(path) + ".json").read_text()) == {"a": 1, "name": "x"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.joblib", "m.joblib.json"]  # no temporaries left


def test_load_model_file__missing_and_not_a_pickle(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such model file"):
        load_model_file(tmp_path / "none.joblib", what="risk model file")
    bad = tmp_path / "bad.joblib"
    bad.write_text("not a pickle")
    with pytest.raises(InputError, match=r"not a biolake risk model file \("):
        load_model_file(bad, what="risk model file")
