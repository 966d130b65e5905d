#!/bin/sh
# Reference outputs of plink2 for the genomics QC tests (not run in CI; the outputs are committed).
#
# Requires Debian's plink2 (apt-get install plink2; used: PLINK v2.00a3.5 AVX2 (9 Aug 2022))
# and biolake installed in .venv (for its deterministic simulator, which writes the .bed with bed-reader).
#
#   sh tests/data/reference/genomics/make_reference.sh
#
# Writes tests/data/genomics/:
#   sim.bed/.bim/.fam      250 samples x 1500 variants on chromosomes 1-3, seed 1: ~3 % missing calls,
#                          variants out of HWE, inbred samples, monomorphic and all-missing variants
#   ref.afreq ref.hardy ref.vmiss ref.smiss ref.het      plink2 --freq --hardy --missing --het
#   ref_midp.hardy                                       plink2 --hardy midp
#   filt.id filt.snplist                                 plink2 --mind 0.1 --geno 0.1 --hwe 1e-6 --maf 0.05
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out="$root/tests/data/genomics"
python="${PYTHON:-$root/.venv/bin/python}"
mkdir -p "$out"
cd "$out"
"$python" -c "from biolake.genomics.simulate import simulate_plink; simulate_plink('sim', n_samples=250, n_variants=1500, seed=1)"
plink2 --version > plink2.version
plink2 --bfile sim --freq --hardy --missing --het --threads 1 --out ref
plink2 --bfile sim --hardy midp --threads 1 --out ref_midp
plink2 --bfile sim --mind 0.1 --geno 0.1 --hwe 1e-6 --maf 0.05 --write-snplist --write-samples --threads 1 --out filt
rm -f ./*.log ./*.mindrem.id
