"""Make the reference outputs of ``biolake precision prs`` with ``plink2 --score`` (not run in CI).

Run from the repository root: ``.venv/bin/python tests/data/precision/prs/make_reference.py``.
Tools: PLINK v2.00a3.5 AVX2 (9 Aug 2022) (Debian ``plink2``), numpy.

1. Synthetic data (numpy seed 20261127): ``synth.vcf.gz`` (300 samples, chr1/chr2 SNVs,
   indels, a few multi-allelic sites, 4 % missing calls and two variants with 40 %
   missing), and weights ``synth_pgs.txt`` (PGS Catalog format: a row per category —
   match, flip (effect allele = REF), strand, strand+flip, ambiguous A/T C/G, multi-allelic,
   missing, allele mismatch) and ``synth_plain.txt`` (``id effect_allele a b c``, by ID).
   ``synth_truth.tsv`` lists each weights row's category as constructed, and the plink2
   allele it translates to. plink2 cannot match positions, strands or flips, so the
   scoring files given to plink2 are that translation: ``ID A1 weights`` of the rows to
   use, with the strand-flipped alleles complemented (``plink2_synth_*.score``).
2. plink2 ``--score … header-read cols=nallele,denom,dosagesum,scoreavgs,scoresums
   list-variants`` with the default (mean imputation), ``no-mean-imputation``,
   ``dominant``, ``recessive``, ambiguous rows kept, and the three plain scores
   (``--score-col-nums 3-5``).
3. The PGS Catalog test data of pgsc_calc (``../shared/data/prs/pgsc_calc``): the chr22
   target (2,504 samples, 829 variants, .bed) with ``scorefile.txt`` (positions),
   ``PGS001229_22.txt`` (PGS Catalog file), ``multiscore.txt`` (plain, ``22:POS:A:B`` IDs,
   two scores) and ``scorefile_dominant_and_recessive.txt`` (per-variant models: three
   plink2 runs, one per model, whose sums add up).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[4] / "shared" / "data" / "prs" / "pgsc_calc"
COMP = str.maketrans("ACGT", "TGCA")
COLS = "cols=nallele,denom,dosagesum,scoreavgs,scoresums"
N_SAMPLES = 300


def _plink(*args: str) -> None:
    subprocess.run(["plink2", "--threads", "1", *args], check=True, stdout=subprocess.DEVNULL)


def synthetic(tmp: Path) -> None:
    rng = np.random.default_rng(20261127)
    kinds = ["match"] * 70 + ["flip"] * 70 + ["strand"] * 30 + ["strand+flip"] * 30 + ["ambiguous"] * 30
    kinds += ["multi-allelic"] * 8 + ["allele mismatch"] * 12 + ["indel"] * 10 + ["unscored"] * 40
    rng.shuffle(kinds)
    samples = [f"S{i:04d}" for i in range(N_SAMPLES)]
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1>",
        "##contig=<ID=2>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]),
    ]
    pgs = ["rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight"]
    plain = ["id\teffect_allele\ta\tb\tc"]
    truth = ["line\tkind\tid\tplink_a1\tweight"]
    plain_truth = ["id\tplink_a1\ta\tb\tc"]
    bases = "ACGT"
    line_no = 1 + 4  # weights file: 4 header comment lines, then the column header
    for i, kind in enumerate(kinds):
        chrom = "1" if i < len(kinds) // 2 else "2"
        pos = 10_000 + 137 * i
        vid = f"rs{900_000 + i}"
        if kind == "ambiguous":
            ref, alt = [("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")][i % 4]
        elif kind == "indel":
            ref, alt = "A", "AGT"
        else:
            while True:
                ref, alt = rng.choice(list(bases), 2, replace=False)
                if {ref, alt} not in ({"A", "T"}, {"C", "G"}):
                    break
        alts = [alt]
        if kind == "multi-allelic":
            third = next(b for b in bases if b not in (ref, alt))
            alts = [alt, third]
        p = rng.uniform(0.05, 0.95)
        n_alleles = len(alts) + 1
        probs = [1 - p] + [p / len(alts)] * len(alts)
        a = rng.choice(n_alleles, size=(N_SAMPLES, 2), p=probs)
        miss = rng.random(N_SAMPLES) < (0.4 if i in (3, 4) else 0.04)
        gts = ["./." if miss[j] else f"{a[j, 0]}/{a[j, 1]}" for j in range(N_SAMPLES)]
        lines.append("\t".join([chrom, str(pos), vid, ref, ",".join(alts), ".", ".", ".", "GT", *gts]))
        if kind == "unscored":
            continue
        w = float(np.round(rng.normal(0, 0.2), 6))
        ea, oa, a1 = alt, ref, alt
        if kind in ("flip",):
            ea, oa, a1 = ref, alt, ref
        elif kind == "strand":
            ea, oa, a1 = alt.translate(COMP), ref.translate(COMP), alt
        elif kind == "strand+flip":
            ea, oa, a1 = ref.translate(COMP), alt.translate(COMP), ref
        elif kind == "allele mismatch":
            other = [b for b in bases if b not in (ref, alt, ref.translate(COMP), alt.translate(COMP))]
            ea, oa, a1 = (other[0] if other else "N"), ref, "."
        elif kind == "indel":
            kind = "match" if i % 2 else "flip"
            ea, oa, a1 = (alt, ref, alt) if kind == "match" else (ref, alt, ref)
        elif kind == "multi-allelic":
            a1 = "."
        elif kind == "ambiguous" and i % 2:
            ea, oa = ref, alt  # kept with --keep-ambiguous: counted as REF
        if kind == "ambiguous":
            a1 = ea
        pgs.append(f"{vid}\t{chrom}\t{pos}\t{ea}\t{oa}\t{w}")
        truth.append(f"{line_no + 1}\t{kind}\t{vid}\t{a1}\t{w}")
        line_no += 1
        if kind in ("match", "flip", "strand+flip", "multi-allelic") and i % 3:
            ws = np.round(rng.normal(0, 0.3, 3), 5)
            ws[0 if i % 2 else 1] = 0.0
            plain.append(f"{vid}\t{ea}\t" + "\t".join(f"{x:g}" for x in ws))
            plain_truth.append(f"{vid}\t{a1}\t" + "\t".join(f"{x:g}" for x in ws))
    # rows for positions that are not in the data
    for k in range(10):
        w = float(np.round(rng.normal(0, 0.2), 6))
        pgs.append(f"rs{800_000 + k}\t1\t{5 + 11 * k}\tA\tG\t{w}")
        truth.append(f"{line_no + 1}\tmissing\trs{800_000 + k}\t.\t{w}")
        line_no += 1
    header = ["#pgs_id=SYNTH01", "#pgs_name=synthetic", "#genome_build=GRCh38", "#weight_type=beta"]
    (HERE / "synth_pgs.txt").write_text("\n".join(header + pgs) + "\n")
    (HERE / "synth_plain.txt").write_text("\n".join(plain) + "\n")
    (HERE / "synth_truth.tsv").write_text("\n".join(truth) + "\n")
    with gzip.GzipFile(HERE / "synth.vcf.gz", "wb", mtime=0) as fh:  # mtime 0: reproducible bytes
        fh.write(("\n".join(lines) + "\n").encode())
    # plink2 scoring files: the rows to use, by ID and plink2 allele
    rows = [r.split("\t") for r in truth[1:]]
    used = [r for r in rows if r[1] in ("match", "flip", "strand", "strand+flip")]
    amb = [r for r in rows if r[1] in ("match", "flip", "strand", "strand+flip", "ambiguous")]
    for name, sel in (("synth", used), ("synth_ambiguous", amb)):
        (tmp / f"{name}.score").write_text("ID\tA1\tSYNTH01\n" + "".join(f"{r[2]}\t{r[3]}\t{r[4]}\n" for r in sel))
    pt = [r.split("\t") for r in plain_truth[1:]]
    (tmp / "synth_plain.score").write_text(
        "ID\tA1\ta\tb\tc\n" + "".join("\t".join(r) + "\n" for r in pt if r[1] != ".")
    )
    _plink("--vcf", str(HERE / "synth.vcf.gz"), "--make-pgen", "--out", str(tmp / "synth"))
    for mode, mods, score in (
        ("default", [], "synth"),
        ("nomean", ["no-mean-imputation"], "synth"),
        ("dominant", ["dominant"], "synth"),
        ("recessive", ["recessive"], "synth"),
        ("ambiguous", [], "synth_ambiguous"),
        ("plain", [], "synth_plain"),
    ):
        extra = ["--score-col-nums", "3-5"] if mode == "plain" else []
        cols = ["1", "2"] if extra else ["1", "2", "3"]
        _plink("--pfile", str(tmp / "synth"), "--score", str(tmp / f"{score}.score"), *cols, "header-read",
               *mods, COLS, "list-variants", *extra, "--out", str(tmp / mode))  # fmt: skip
        shutil.copy(tmp / f"{mode}.sscore", HERE / f"plink2_synth_{mode}.sscore")


def _pgsc_translate(weights: Path, bim: dict[tuple[str, int], tuple[str, str, str]], out: Path, flag: str | None):
    """ID A1 W rows of a PGS file located by position (ambiguous dropped, strand complemented)."""
    rows = []
    cols: list[str] = []
    for text in weights.read_text().splitlines():
        if text.startswith("#"):
            continue
        f = text.split("\t")
        if not cols:
            cols = f
            continue
        r = dict(zip(cols, f, strict=False))
        if flag is not None:
            kind = "dominant" if r["is_dominant"] == "TRUE" else "recessive" if r["is_recessive"] == "TRUE" else "add"
            if kind != flag:
                continue
        hit = bim.get((r["chr_name"], int(r["chr_position"])))
        if hit is None:
            continue
        vid, a1, a2 = hit
        ea, oa = r["effect_allele"], r.get("other_allele")
        if {a1, a2} in ({"A", "T"}, {"C", "G"}):
            continue
        if {ea, oa} == {a1, a2}:
            rows.append((vid, ea, r["effect_weight"]))
        elif {ea.translate(COMP), oa.translate(COMP)} == {a1, a2}:
            rows.append((vid, ea.translate(COMP), r["effect_weight"]))
    out.write_text("ID\tA1\tW\n" + "".join("\t".join(x) + "\n" for x in rows))


def pgsc(tmp: Path) -> None:
    prefix = SHARED / "target_genomes" / "cineca_synthetic_subset"
    bim = {}
    for text in prefix.with_suffix(".bim").read_text().splitlines():
        c, vid, _, pos, a1, a2 = text.split()
        bim[(c, int(pos))] = (vid, a1, a2)
    runs = []
    for name, src, flag in (
        ("pgsc_scorefile", "scorefile.txt", None),
        ("pgsc_pgs001229", "PGS001229_22.txt", None),
        ("pgsc_add", "scorefile_dominant_and_recessive.txt", "add"),
        ("pgsc_dominant", "scorefile_dominant_and_recessive.txt", "dominant"),
        ("pgsc_recessive", "scorefile_dominant_and_recessive.txt", "recessive"),
    ):
        _pgsc_translate(SHARED / "scorefiles" / src, bim, tmp / f"{name}.score", flag)
        mods = [flag] if flag in ("dominant", "recessive") else []
        runs.append((name, mods, []))
    # multiscore.txt: plain, IDs 22:POS:A:B; translated to the .bim's IDs
    rows = []
    for k, text in enumerate((SHARED / "scorefiles" / "multiscore.txt").read_text().splitlines()):
        f = text.split("\t")
        if k == 0:
            continue
        c, pos = f[0].split(":")[:2]
        hit = bim.get((c, int(pos)))
        if hit and {hit[1], hit[2]} not in ({"A", "T"}, {"C", "G"}) and f[1] in (hit[1], hit[2]):
            rows.append("\t".join([hit[0], f[1], f[2], f[3]]))
    (tmp / "pgsc_multiscore.score").write_text("ID\tA1\tPGS001229_22\tsecond_score\n" + "\n".join(rows) + "\n")
    runs.append(("pgsc_multiscore", [], ["--score-col-nums", "3-4"]))
    for name, mods, extra in runs:
        cols = ["1", "2"] if extra else ["1", "2", "3"]
        _plink("--bfile", str(prefix), "--score", str(tmp / f"{name}.score"), *cols, "header-read", *mods,
               COLS, "list-variants", *extra, "--out", str(tmp / name))  # fmt: skip
        with (
            open(tmp / f"{name}.sscore", "rb") as src,
            gzip.GzipFile(HERE / f"plink2_{name}.sscore.gz", "wb", mtime=0) as dst,
        ):
            shutil.copyfileobj(src, dst)
        shutil.copy(tmp / f"{name}.sscore.vars", HERE / f"plink2_{name}.sscore.vars")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        synthetic(Path(d))
        pgsc(Path(d))
    print(subprocess.run(["plink2", "--version"], capture_output=True, text=True).stdout.strip())
