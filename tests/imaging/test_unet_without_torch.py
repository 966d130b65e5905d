"""Without PyTorch the U-Net commands fail with one clear line; biolake itself imports fine."""

from __future__ import annotations

import sys

import pytest

from biolake.cli import main
from biolake.errors import InputError


def test_unet__missing_torch_is_an_input_error_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    from biolake.imaging import unet

    with pytest.raises(InputError, match=r"the deep extra is not installed: pip install 'biolake\[deep\]'"):
        unet.select_device()
    (tmp_path / "m.pt").write_bytes(b"x")
    with pytest.raises(SystemExit) as exc:
        main(["--lake", str(tmp_path / "lake"), "--quiet", "imaging", "unet", "apply", str(tmp_path / "m.pt"),
              str(tmp_path / "m.pt"), "--out", str(tmp_path / "o.nii.gz")])  # fmt: skip
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: the deep extra is not installed: pip install 'biolake[deep]'"
