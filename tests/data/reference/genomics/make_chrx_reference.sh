#!/bin/sh
# plink2 chrX Hardy-Weinberg reference outputs for the chrX QC tests (not run in CI; outputs committed).
#
# Requires Debian's plink2 (used: PLINK v2.00a3.5 AVX2 (9 Aug 2022)) and biolake's .venv (numpy, bed-reader).
#
#   sh tests/data/reference/genomics/make_chrx_reference.sh
#
# Writes tests/data/genomics/chrx/:
#   chrx.bed/.bim/.fam    300 samples (130 male, 150 female, 20 unknown sex) x 440 variants:
#                         40 on chr1, 360 on X, 40 on XY (see make_chrx_reference.py)
#   ref.hardy ref.hardy.x            plink2 --hardy            (autosomes + XY; chrX with the Graffelman-Weir test)
#   ref_midp.hardy ref_midp.hardy.x  plink2 --hardy midp
#   filt_hwe.snplist                 plink2 --hwe 0.001 --write-snplist (chrX filtered by the Graffelman-Weir p)
#   filt_hwe_midp.snplist            plink2 --hwe 0.001 midp --write-snplist
#   ref.acount                       plink2 --freq counts (chrX: males haploid, male hets half an ALT allele)
#   tiny.bed/.bim/.fam    12 samples (7 female, 5 male) x 600 chrX variants: tiny tables with ties
#   tiny.hardy.x tiny_midp.hardy.x   plink2 --hardy, --hardy midp on tiny (2.00a3.5 under-counts ties in MIDP)
#   plink2.version
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out="$root/tests/data/genomics/chrx"
python="${PYTHON:-$root/.venv/bin/python}"
mkdir -p "$out"
cd "$out"
"$python" "$here/make_chrx_reference.py" chrx tiny
plink2 --version > plink2.version
plink2 --bfile chrx --hardy --threads 1 --out ref
plink2 --bfile chrx --hardy midp --threads 1 --out ref_midp
plink2 --bfile tiny --hardy --threads 1 --out tiny
plink2 --bfile tiny --hardy midp --threads 1 --out tiny_midp
plink2 --bfile chrx --hwe 0.001 --write-snplist --threads 1 --out filt_hwe
plink2 --bfile chrx --freq counts --threads 1 --out ref
plink2 --bfile chrx --hwe 0.001 midp --write-snplist --threads 1 --out filt_hwe_midp
rm -f ./*.log
