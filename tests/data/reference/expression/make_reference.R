#!/usr/bin/env Rscript
# Reference outputs of R DESeq2 for biolake's differential-expression tests.
#
# Not run in CI. Regenerate with (Debian: apt-get install r-bioc-deseq2):
#   Rscript tests/data/reference/expression/make_reference.R tests/data/expression
# Writes, per dataset NAME: NAME_counts.csv (gene + one column per sample),
# NAME_samples.csv, NAME_size_factors.csv, NAME_wald.csv and NAME_lrt.csv
# (DESeq2 results() with default independent filtering and Cook's cutoff, plus the
# intermediate dispersions and maxCooks).
suppressPackageStartupMessages(library(DESeq2))

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "tests/data/expression"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

write_counts <- function(name, counts, coldata) {
  df <- data.frame(gene = rownames(counts), counts, check.names = FALSE)
  write.csv(df, file.path(out, paste0(name, "_counts.csv")), row.names = FALSE, quote = FALSE)
  s <- data.frame(sample = rownames(coldata), as.data.frame(coldata), check.names = FALSE)
  write.csv(s, file.path(out, paste0(name, "_samples.csv")), row.names = FALSE, quote = FALSE)
}

write_results <- function(name, suffix, dds, res) {
  df <- data.frame(
    gene = rownames(res),
    base_mean = res$baseMean,
    log2_fold_change = res$log2FoldChange,
    lfc_se = res$lfcSE,
    stat = res$stat,
    pvalue = res$pvalue,
    padj = res$padj,
    disp_gene_est = mcols(dds)$dispGeneEst,
    disp_fit = mcols(dds)$dispFit,
    dispersion = dispersions(dds),
    max_cooks = mcols(dds)$maxCooks
  )
  write.csv(df, file.path(out, paste0(name, "_", suffix, ".csv")), row.names = FALSE, na = "NA")
}

run_one <- function(name, counts, coldata, design, reduced, contrast) {
  write_counts(name, counts, coldata)
  dds <- DESeqDataSetFromMatrix(counts, coldata, design)
  dds <- estimateSizeFactors(dds)
  sf <- data.frame(sample = colnames(dds), ratio = sizeFactors(dds),
                   poscounts = sizeFactors(estimateSizeFactors(dds, type = "poscounts")))
  write.csv(sf, file.path(out, paste0(name, "_size_factors.csv")), row.names = FALSE)
  wald <- DESeq(dds, quiet = TRUE)
  write_results(name, "wald", wald, results(wald, contrast = contrast))
  lrt <- DESeq(dds, test = "LRT", reduced = reduced, quiet = TRUE)
  write_results(name, "lrt", lrt, results(lrt, contrast = contrast))
  message(name, ": dispPriorVar ", attr(dispersionFunction(wald), "dispPriorVar"),
          ", coefficients ", paste(attr(dispersionFunction(wald), "coefficients"), collapse = " "))
}

# 1. DESeq2's own simulator: 1,200 genes x 10 samples, two conditions (A, B), real fold changes.
set.seed(1)
dds <- makeExampleDESeqDataSet(n = 1200, m = 10, betaSD = 1)
run_one("sim_basic", counts(dds), colData(dds), ~ condition, ~ 1, c("condition", "B", "A"))

# 2. A batch factor: 1,200 genes x 12 samples, 2 batches x 2 conditions x 3 replicates.
set.seed(2)
n <- 1200
coldata <- DataFrame(
  batch = factor(rep(c("b1", "b2"), each = 6)),
  condition = factor(rep(rep(c("control", "treated"), each = 3), 2)),
  row.names = paste0("s", sprintf("%02d", 1:12))
)
x <- model.matrix(~ batch + condition, as.data.frame(coldata))
beta <- cbind(rnorm(n, 5, 2), rnorm(n, 0, 0.5), rnorm(n, 0, 1) * (runif(n) < 0.3))
disp <- 4 / 2^beta[, 1] + 0.05
sf <- c(0.8, 1.2, 1, 0.9, 1.1, 1.3, 0.7, 1, 1.2, 0.95, 1.05, 1)
mu <- t(2^(x %*% t(beta)) * sf)
counts <- matrix(rnbinom(length(mu), mu = mu, size = 1 / disp), ncol = 12)
mode(counts) <- "integer"
dimnames(counts) <- list(paste0("ENSG", sprintf("%011d", 1:n)), rownames(coldata))
run_one("sim_batch", counts, coldata, ~ batch + condition, ~ batch, c("condition", "treated", "control"))

# 3. Three groups (A, B, C) x 3 replicates, 1,000 genes, with injected outlier counts,
#    low counts and all-zero genes; the contrast C vs B uses neither reference level.
set.seed(3)
n <- 1000
coldata <- DataFrame(condition = factor(rep(c("A", "B", "C"), each = 3)),
                     row.names = paste0("sample", 1:9))
x <- model.matrix(~ condition, as.data.frame(coldata))
beta <- cbind(rnorm(n, 3, 2.5), rnorm(n, 0, 0.7), rnorm(n, 0, 1))
disp <- 4 / 2^beta[, 1] + 0.1
mu <- t(2^(x %*% t(beta)) * c(1, 0.7, 1.3, 1.1, 0.9, 1, 1.2, 0.8, 1))
counts <- matrix(rnbinom(length(mu), mu = mu, size = 1 / disp), ncol = 9)
out_rows <- sample(which(rowMeans(counts) > 20), 30)
for (i in out_rows) {
  j <- sample(9, 1)
  counts[i, j] <- as.integer(counts[i, j] * 30 + 100)
}
counts[sample(n, 15), ] <- 0L
mode(counts) <- "integer"
dimnames(counts) <- list(paste0("g", 1:n), rownames(coldata))
run_one("sim_outlier", counts, coldata, ~ condition, ~ 1, c("condition", "C", "B"))

# 4. Seven replicates per condition (14 samples), 800 genes, injected outliers: DESeq2
#    replaces outlier counts (minReplicatesForReplace = 7) and refits those genes.
set.seed(4)
n <- 800
coldata <- DataFrame(condition = factor(rep(c("ctl", "trt"), each = 7)), row.names = paste0("r", 1:14))
x <- model.matrix(~ condition, as.data.frame(coldata))
beta <- cbind(rnorm(n, 4, 2), rnorm(n, 0, 1) * (runif(n) < 0.3))
disp <- 4 / 2^beta[, 1] + 0.08
mu <- t(2^(x %*% t(beta)) * exp(rnorm(14, 0, 0.2)))
counts <- matrix(rnbinom(length(mu), mu = mu, size = 1 / disp), ncol = 14)
for (i in sample(which(rowMeans(counts) > 10), 40)) {
  j <- sample(14, 1)
  counts[i, j] <- as.integer(counts[i, j] * 20 + 50)
}
counts[sample(n, 5), ] <- 0L
mode(counts) <- "integer"
dimnames(counts) <- list(paste0("t", 1:n), rownames(coldata))
run_one("sim_replace", counts, coldata, ~ condition, ~ 1, c("condition", "trt", "ctl"))

writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo.txt"))
