#!/usr/bin/env Rscript
# Reference outputs of R DESeq2 on a REAL count matrix: Marioni et al. (2008), "RNA-seq:
# an assessment of technical reproducibility and comparison with gene expression arrays",
# Genome Research 18:1509-1517 — human kidney vs liver, 5 lanes each over two sequencing
# runs, as shipped by Bioconductor's NOISeq package (data(Marioni): `mycounts`, 5,088
# Ensembl genes x 10 samples, `myfactors`). Debian: apt-get install r-bioc-noiseq r-bioc-deseq2.
#
# Not run in CI. Regenerate with:
#   Rscript tests/data/reference/expression/make_real_reference.R tests/data/expression
# Writes marioni_counts.csv.gz (gene + one column per sample, as shipped), marioni_samples.csv
# (sample, tissue, run; run = R1/R2 from the lane name), marioni_size_factors.csv,
# marioni_wald.csv.gz (design ~ run + tissue, contrast tissue Liver vs Kidney) and
# marioni_wald_tissue.csv.gz (design ~ tissue), each DESeq2 results() with default
# independent filtering and Cook's cutoff plus the dispersions and maxCooks, and
# marioni_versions.txt.
suppressPackageStartupMessages({
  library(DESeq2)
  library(NOISeq)
})

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "tests/data/expression"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

data(Marioni, package = "NOISeq")
counts <- as.matrix(mycounts)
mode(counts) <- "integer"
coldata <- data.frame(
  tissue = factor(as.character(myfactors$Tissue)),
  run = factor(substr(colnames(counts), 1, 2)),
  row.names = colnames(counts)
)

gz <- gzfile(file.path(out, "marioni_counts.csv.gz"), "w")
write.csv(data.frame(gene = rownames(counts), counts, check.names = FALSE), gz, row.names = FALSE, quote = FALSE)
close(gz)
write.csv(data.frame(sample = rownames(coldata), coldata), file.path(out, "marioni_samples.csv"),
          row.names = FALSE, quote = FALSE)

write_results <- function(file, dds, res) {
  df <- data.frame(
    gene = rownames(res), base_mean = res$baseMean, log2_fold_change = res$log2FoldChange,
    lfc_se = res$lfcSE, stat = res$stat, pvalue = res$pvalue, padj = res$padj,
    disp_gene_est = mcols(dds)$dispGeneEst, disp_fit = mcols(dds)$dispFit,
    dispersion = dispersions(dds), max_cooks = mcols(dds)$maxCooks
  )
  gz <- gzfile(file.path(out, file), "w")
  write.csv(df, gz, row.names = FALSE, na = "NA")
  close(gz)
}

dds <- DESeqDataSetFromMatrix(counts, coldata, ~ run + tissue)
dds <- estimateSizeFactors(dds)
write.csv(data.frame(sample = colnames(dds), ratio = sizeFactors(dds),
                     poscounts = sizeFactors(estimateSizeFactors(dds, type = "poscounts"))),
          file.path(out, "marioni_size_factors.csv"), row.names = FALSE)
wald <- DESeq(dds, quiet = TRUE)
write_results("marioni_wald.csv.gz", wald, results(wald, contrast = c("tissue", "Liver", "Kidney")))
dds1 <- DESeqDataSetFromMatrix(counts, coldata, ~ tissue)
wald1 <- DESeq(dds1, quiet = TRUE)
write_results("marioni_wald_tissue.csv.gz", wald1, results(wald1, contrast = c("tissue", "Liver", "Kidney")))
writeLines(c(paste("R", R.version$major, R.version$minor), paste("DESeq2", packageVersion("DESeq2")),
             paste("NOISeq", packageVersion("NOISeq"))), file.path(out, "marioni_versions.txt"))
