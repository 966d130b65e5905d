#!/bin/sh
# Reference data of the VCF ingest tests (tests/genomics/test_vcf.py). Not run in CI.
# Needs Debian's bcftools, tabix (bgzip) and plink2:  apt-get install -y bcftools tabix plink2
# Run from the repository root:  sh tests/data/reference/genomics/make_vcf_reference.sh
set -eu
D=tests/data/genomics/vcf
Q='%CHROM\t%POS\t%ID\t%REF\t%ALT\t%QUAL\t%FILTER[\t%GT]\n'

# hand.vcf is written by hand (multi-allelic sites, haploid chrX/Y/MT calls, DS, missing,
# half-missing and phased calls, missing QUAL/FILTER/INFO); its bgzip and BCF forms:
bgzip -c "$D/hand.vcf" > "$D/hand.vcf.gz"
bcftools view -Ob -o "$D/hand.bcf" "$D/hand.vcf"
# fixed fields + GT, and DS, after splitting multi-allelic sites as biolake does:
bcftools norm -m- "$D/hand.vcf" | bcftools query -f "$Q" > "$D/hand.norm.gt.tsv"
bcftools norm -m- "$D/hand.vcf" | bcftools query -f '[%DS\t]\n' > "$D/hand.norm.ds.tsv"

# plink2 --dummy with dosages (DS) and 5 % missing calls, exported as bgzip VCF:
plink2 --dummy 60 400 0.05 dosage-freq=0.4 --seed 7 --export vcf bgz vcf-dosage=DS-force \
  --out "$D/dummy" > /dev/null
rm -f "$D/dummy.log"
bcftools query -f "$Q" "$D/dummy.vcf.gz" > "$D/dummy.gt.tsv"
bcftools query -f '[%DS\t]\n' "$D/dummy.vcf.gz" > "$D/dummy.ds.tsv"

# the PLINK reference fileset (tests/data/genomics/sim.*) as VCF: same data, two formats
plink2 --bfile tests/data/genomics/sim --export vcf bgz id-paste=iid --out "$D/sim" > /dev/null
rm -f "$D/sim.log"

bcftools --version | head -1 > "$D/tools.version"
plink2 --version >> "$D/tools.version"
