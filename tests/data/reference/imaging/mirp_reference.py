"""Generate MIRP reference features for the imaging tests (run by hand, not in CI).

MIRP (https://github.com/oncoray/mirp, EUPL-1.2, IBSI-compliant) is a test-time reference
only, never a dependency of biolake. Install it beside biolake (``pip install mirp``;
2.7.0 was used) and run from the repository root::

    .venv/bin/python tests/data/reference/imaging/mirp_reference.py

Writes, next to this script, one CSV per case and setting (``tag,value``; tags renamed
to biolake's: MIRP's ``_d1``, ``_a0.0`` and ``_fbs_w25.0`` infixes dropped, ``_3d_v_mrg``
→ ``_3D_comb`` …), plus ``mirp_versions.txt``:

* ``mirp_ct_phantom_3d.csv`` / ``mirp_ct_phantom_2d.csv`` — the IBSI CT phantom (read from
  ``../shared/data/ibsi``; only the derived feature values are stored) without
  interpolation, re-segmentation range [-500, 400] HU, fixed bin size 25 HU, 3-D / 2-D.
* ``mirp_synthetic_3d.csv`` — ``biolake.imaging.demo.synthetic_ct(seed=0)``, same settings.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
CT = HERE.parents[3].parent / "shared" / "data" / "ibsi" / "ibsi_1_ct_radiomics_phantom" / "nifti"
FAMILIES = ("morph_", "loc_", "stat_", "ih_", "ivh_", "cm_", "rlm_", "szm_", "dzm_", "ngt_", "ngl_")
SPATIAL = {
    "_3d_avg": "_3D_avg",
    "_3d_v_mrg": "_3D_comb",
    "_2d_avg": "_2D_avg",
    "_2d_s_mrg": "_2D_comb",
    "_2.5d_d_mrg": "_2_5D_avg",
    "_2.5d_v_mrg": "_2_5D_comb",
    "_2.5d": "_2_5D",
    "_3d": "_3D",
    "_2d": "_2D",
}


def biolake_tag(tag: str) -> str:
    """MIRP's feature name → the IBSI tag biolake uses."""
    tag = re.sub(r"_fbs_w25\.0$", "", tag).replace("_d1_", "_").replace("_a0.0", "")
    for mirp, ours in SPATIAL.items():
        if tag.endswith(mirp):
            return tag[: -len(mirp)] + ours
    return tag


def run(image: Path, mask: Path, *, by_slice: bool) -> pd.DataFrame:
    from mirp import extract_features

    spatial = (
        ["2d_average", "2d_slice_merge", "2.5d_direction_merge", "2.5d_volume_merge"]
        if by_slice
        else [
            "3d_average",
            "3d_volume_merge",
        ]
    )
    result = extract_features(
        image=str(image),
        mask=str(mask),
        image_modality="CT",
        by_slice=by_slice,
        resegmentation_intensity_range=[-500.0, 400.0],
        base_discretisation_method="fixed_bin_size",
        base_discretisation_bin_width=25.0,
        ivh_discretisation_method="none",
        glcm_spatial_method=spatial,
        glrlm_spatial_method=spatial,
        num_cpus=1,
    )[0].iloc[0]
    rows = [(biolake_tag(k), float(v)) for k, v in result.items() if str(k).startswith(FAMILIES)]
    return pd.DataFrame(rows, columns=["tag", "value"])


def main() -> None:
    sys.path.insert(0, str(HERE.parents[3] / "src"))
    import SimpleITK as sitk

    from biolake.imaging.demo import synthetic_ct

    if CT.is_dir():
        for by_slice, suffix in ((False, "3d"), (True, "2d")):
            run(CT / "image" / "phantom.nii.gz", CT / "mask" / "mask.nii.gz", by_slice=by_slice).to_csv(
                HERE / f"mirp_ct_phantom_{suffix}.csv", index=False, float_format="%.9g"
            )
    with tempfile.TemporaryDirectory() as tmp:
        image, mask = synthetic_ct(seed=0)
        for vol, name in ((image, "image"), (mask, "mask")):
            itk = sitk.GetImageFromArray(vol.array)
            itk.SetSpacing(vol.spacing)
            itk.SetOrigin(vol.origin)
            sitk.WriteImage(itk, str(Path(tmp) / f"{name}.nii.gz"))
        run(Path(tmp) / "image.nii.gz", Path(tmp) / "mask.nii.gz", by_slice=False).to_csv(
            HERE / "mirp_synthetic_3d.csv", index=False, float_format="%.9g"
        )
    (HERE / "mirp_versions.txt").write_text(
        f"mirp {importlib.metadata.version('mirp')}\nnumpy {importlib.metadata.version('numpy')}\n"
        f"python {sys.version.split()[0]}\n"
    )


if __name__ == "__main__":
    main()
