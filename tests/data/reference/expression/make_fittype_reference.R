#!/usr/bin/env Rscript
# Reference outputs of R DESeq2 with fitType = "local" and "mean" for biolake's tests.
#
# Not run in CI. Regenerate with (Debian: apt-get install r-bioc-deseq2; locfit comes with it):
#   Rscript tests/data/reference/expression/make_fittype_reference.R tests/data/expression
# Reads NAME_counts.csv and NAME_samples.csv written by make_reference.R and writes
# NAME_wald_local.csv.gz and NAME_wald_mean.csv.gz (results() with default independent
# filtering and Cook's cutoff, plus the dispersions and maxCooks), and fittype_versions.txt;
# and sim_fallback_* (a data set where DESeq2 falls back from the parametric to the local fit).
suppressPackageStartupMessages(library(DESeq2))

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "tests/data/expression"

datasets <- list(
  sim_basic = list(design = ~ condition, contrast = c("condition", "B", "A")),
  sim_batch = list(design = ~ batch + condition, contrast = c("condition", "treated", "control")),
  sim_outlier = list(design = ~ condition, contrast = c("condition", "C", "B")),
  sim_replace = list(design = ~ condition, contrast = c("condition", "trt", "ctl"))
)

for (name in names(datasets)) {
  cts <- read.csv(file.path(out, paste0(name, "_counts.csv")), check.names = FALSE, colClasses = c(gene = "character"))
  counts <- as.matrix(cts[, -1])
  rownames(counts) <- cts$gene
  mode(counts) <- "integer"
  s <- read.csv(file.path(out, paste0(name, "_samples.csv")), colClasses = "character")
  coldata <- DataFrame(lapply(s[, -1, drop = FALSE], factor), row.names = s$sample)
  for (ft in c("local", "mean")) {
    dds <- DESeqDataSetFromMatrix(counts, coldata, datasets[[name]]$design)
    dds <- DESeq(dds, fitType = ft, quiet = TRUE)
    res <- results(dds, contrast = datasets[[name]]$contrast)
    df <- data.frame(
      gene = rownames(res), base_mean = res$baseMean, log2_fold_change = res$log2FoldChange,
      lfc_se = res$lfcSE, stat = res$stat, pvalue = res$pvalue, padj = res$padj,
      disp_gene_est = mcols(dds)$dispGeneEst, disp_fit = mcols(dds)$dispFit,
      dispersion = dispersions(dds), max_cooks = mcols(dds)$maxCooks
    )
    df[] <- lapply(df, function(col) if (is.numeric(col)) sprintf("%.17g", col) else col)
    f <- gzfile(file.path(out, paste0(name, "_wald_", ft, ".csv.gz")), "w")
    write.csv(df, f, row.names = FALSE, quote = FALSE)
    close(f)
  }
}
# A trend rising with the mean: the parametric fit fails and DESeq2 substitutes the local
# fit (its message "a local regression fit was automatically substituted").
set.seed(5)
n <- 600
coldata <- DataFrame(condition = factor(rep(c("A", "B"), each = 4)), row.names = paste0("s", 1:8))
mu0 <- 2^runif(n, 1, 12)
disp <- 0.0005 * mu0 + 0.001
beta <- rnorm(n, 0, 1) * (runif(n) < 0.2)
mu <- cbind(matrix(mu0, n, 4), matrix(mu0 * 2^beta, n, 4))
counts <- matrix(rnbinom(length(mu), mu = mu, size = 1 / disp), ncol = 8)
mode(counts) <- "integer"
dimnames(counts) <- list(paste0("g", 1:n), rownames(coldata))
write.csv(data.frame(gene = rownames(counts), counts, check.names = FALSE),
          file.path(out, "sim_fallback_counts.csv"), row.names = FALSE, quote = FALSE)
write.csv(data.frame(sample = rownames(coldata), condition = coldata$condition),
          file.path(out, "sim_fallback_samples.csv"), row.names = FALSE, quote = FALSE)
dds <- DESeq(DESeqDataSetFromMatrix(counts, coldata, ~ condition), quiet = TRUE)
stopifnot(attr(dispersionFunction(dds), "fitType") == "local")
res <- results(dds, contrast = c("condition", "B", "A"))
df <- data.frame(
  gene = rownames(res), base_mean = res$baseMean, log2_fold_change = res$log2FoldChange,
  lfc_se = res$lfcSE, stat = res$stat, pvalue = res$pvalue, padj = res$padj,
  disp_gene_est = mcols(dds)$dispGeneEst, disp_fit = mcols(dds)$dispFit,
  dispersion = dispersions(dds), max_cooks = mcols(dds)$maxCooks
)
df[] <- lapply(df, function(col) if (is.numeric(col)) sprintf("%.17g", col) else col)
f <- gzfile(file.path(out, "sim_fallback_wald_parametric.csv.gz"), "w")
write.csv(df, f, row.names = FALSE, quote = FALSE)
close(f)

writeLines(c(paste("DESeq2", packageVersion("DESeq2")), paste("locfit", packageVersion("locfit")),
             R.version.string), file.path(out, "fittype_versions.txt"))
