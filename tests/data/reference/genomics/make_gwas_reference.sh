#!/bin/sh
# Reference outputs of plink2 --glm for the GWAS tests (not run in CI; the outputs are committed).
#
# Requires Debian's plink2 (apt-get install plink2; used: PLINK v2.00a3.5 AVX2 (9 Aug 2022))
# and biolake installed in .venv (its deterministic simulator; the .bed is written with bed-reader).
#
#   sh tests/data/reference/genomics/make_gwas_reference.sh
#
# Writes tests/data/genomics/gwas/:
#   gwas.bed/.bim/.fam   500 samples x 600 variants (chromosomes 1-3, seed 7): ~2.5 % missing calls,
#                        monomorphic variants (1, 2), an all-missing variant (3), a rare variant carried
#                        by cases only (index 6: separation, for Firth), causal variants 10, 50, 200
#   gwas.vcf.gz          the same genotypes as VCF (plink2 --export vcf bgz id-paste=iid)
#   gwas.pheno           #FID IID qt bt: a quantitative trait and a case/control trait (1/2, -9 missing)
#   gwas.covar           #FID IID age sex batch pc1 pc2 (batch: a categorical covariate coded 1/2/3; NA missing)
#   (every --glm run with omit-ref: A1 is always ALT, as biolake counts it)
#   lin_nocov.qt.glm.linear          plink2 --glm allow-no-covars (no covariates)
#   lin_cov.qt.glm.linear            plink2 --glm hide-covar with the 5 covariates
#   (logistic runs with --covar-variance-standardize: plink2 2.00a3.5 fits logistic models in single
#   precision, and well-scaled covariates keep its rounding small; the genotype columns do not change)
#   log_nofirth.bt.glm.logistic      plink2 --glm no-firth hide-covar
#   log_fallback.bt.glm.logistic.hybrid   plink2 --glm firth-fallback hide-covar
#   log_firth.bt.glm.firth           plink2 --glm firth hide-covar
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out="$root/tests/data/genomics/gwas"
python="${PYTHON:-$root/.venv/bin/python}"
mkdir -p "$out"
cd "$out"
"$python" - <<'PY'
import numpy as np
from bed_reader import to_bed

from biolake.genomics.simulate import simulate_genotypes

n, m = 500, 600
d = simulate_genotypes(n_samples=n, n_variants=m, seed=7, missing_rate=0.025)
g = d["dosage"]
rng = np.random.default_rng(77)
age = np.round(rng.normal(52, 9, n), 1)
sex = rng.integers(0, 2, n)
batch = rng.integers(1, 4, n)
pc1 = rng.normal(0, 1, n)
pc2 = rng.normal(0, 1, n)
gz = np.where(g < 0, 0, g).astype(float)
qt = 0.03 * age + 0.4 * sex + 0.25 * batch + 0.3 * pc1 + 0.5 * gz[10] - 0.45 * gz[50] + 0.35 * gz[200]
qt = qt + rng.normal(0, 1, n)
eta = -0.3 + 0.04 * (age - 52) + 0.5 * sex - 0.2 * batch + 0.7 * gz[10] - 0.6 * gz[50]
case = rng.random(n) < 1 / (1 + np.exp(-eta))
bt = np.where(case, 2, 1).astype(object)
# separation: the ALT allele of variant 6 only in (6) cases
g[6] = 0
g[6, rng.choice(np.flatnonzero(case), 6, replace=False)] = 1
g[6, rng.random(n) < 0.02] = -1
# missing phenotypes and covariates
qt_s = np.array([f"{v:.6f}" for v in qt], dtype=object)
qt_s[rng.choice(n, 8, replace=False)] = "-9"
qt_s[rng.choice(n, 4, replace=False)] = "NA"
bt[rng.choice(n, 7, replace=False)] = -9
cov = {"age": [f"{v:.1f}" for v in age], "sex": sex.astype(str), "batch": batch.astype(str),
       "pc1": [f"{v:.6f}" for v in pc1], "pc2": [f"{v:.6f}" for v in pc2]}
cov = {k: np.array(v, dtype=object) for k, v in cov.items()}
cov["age"][rng.choice(n, 5, replace=False)] = "NA"
cov["batch"][rng.choice(n, 3, replace=False)] = "NA"
with open("gwas.pheno", "w") as f:
    f.write("#FID\tIID\tqt\tbt\n")
    for i in range(n):
        f.write(f"{d['fid'][i]}\t{d['iid'][i]}\t{qt_s[i]}\t{bt[i]}\n")
with open("gwas.covar", "w") as f:
    f.write("#FID IID age sex batch pc1 pc2\n")
    for i in range(n):
        f.write(" ".join([d["fid"][i], d["iid"][i]] + [cov[k][i] for k in cov]) + "\n")
val = g.T.astype(np.float32)
val[val < 0] = np.nan
props = {
    "fid": list(d["fid"]), "iid": list(d["iid"]), "father": ["0"] * n, "mother": ["0"] * n,
    "sex": [0] * n, "pheno": ["-9"] * n, "chromosome": list(d["chrom"]), "sid": list(d["id"]),
    "cm_position": [0.0] * m, "bp_position": [int(x) for x in d["pos"]],
    "allele_1": list(d["alt"]), "allele_2": list(d["ref"]),
}
to_bed("gwas.bed", val, properties=props, count_A1=True)
PY
plink2 --version > plink2.version
plink2 --bfile gwas --export vcf bgz id-paste=iid --threads 1 --out gwas
common="--bfile gwas --pheno gwas.pheno --threads 1"
covar="--covar gwas.covar --covar-name age,sex,batch,pc1,pc2"
plink2 $common --pheno-name qt --glm allow-no-covars omit-ref cols=+a1freq --out lin_nocov
plink2 $common $covar --pheno-name qt --glm hide-covar omit-ref cols=+a1freq --out lin_cov
plink2 $common $covar --covar-variance-standardize --pheno-name bt --glm no-firth hide-covar omit-ref cols=+a1freq --out log_nofirth
plink2 $common $covar --covar-variance-standardize --pheno-name bt --glm firth-fallback hide-covar omit-ref cols=+a1freq --out log_fallback
plink2 $common $covar --covar-variance-standardize --pheno-name bt --glm firth hide-covar omit-ref cols=+a1freq --out log_firth
rm -f ./*.log
