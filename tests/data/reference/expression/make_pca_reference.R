#!/usr/bin/env Rscript
# Reference of the sample PCA in the `genomics de` report: DESeq2's plotPCA on the variance-
# stabilising transformation with the run's own dispersion trend, i.e.
#   plotPCA(varianceStabilizingTransformation(dds, blind = FALSE), ntop = 500, returnData = TRUE)
# after DESeq(dds). Not run in CI. Regenerate with:
#   Rscript tests/data/reference/expression/make_pca_reference.R tests/data/expression
# Writes NAME_pca.csv (sample, PC1, PC2, percent_var1, percent_var2) and NAME_vst.csv.gz
# (the first 50 genes' transformed values) for sim_basic (~ condition) and marioni (~ run + tissue).
suppressPackageStartupMessages(library(DESeq2))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "tests/data/expression"

one <- function(name, counts, coldata, design, group) {
  dds <- DESeq(DESeqDataSetFromMatrix(counts, coldata, design), quiet = TRUE)
  vsd <- varianceStabilizingTransformation(dds, blind = FALSE)
  d <- plotPCA(vsd, intgroup = group, ntop = 500, returnData = TRUE)
  pv <- attr(d, "percentVar")
  write.csv(data.frame(sample = d$name, PC1 = d$PC1, PC2 = d$PC2, percent_var1 = 100 * pv[1],
                       percent_var2 = 100 * pv[2]), file.path(out, paste0(name, "_pca.csv")), row.names = FALSE)
  gz <- gzfile(file.path(out, paste0(name, "_vst.csv.gz")), "w")
  write.csv(data.frame(gene = rownames(vsd)[1:50], assay(vsd)[1:50, ], check.names = FALSE), gz, row.names = FALSE)
  close(gz)
}

rd <- function(f, ...) read.csv(file.path(out, f), check.names = FALSE, colClasses = "character", ...)
cnt <- function(f) { x <- read.csv(file.path(out, f), row.names = 1, check.names = FALSE); as.matrix(x) }
s <- rd("sim_basic_samples.csv"); rownames(s) <- s$sample; s$condition <- factor(s$condition)
c1 <- cnt("sim_basic_counts.csv")
one("sim_basic", c1, s[colnames(c1), , drop = FALSE], ~ condition, "condition")
m <- rd("marioni_samples.csv"); rownames(m) <- m$sample; m$tissue <- factor(m$tissue); m$run <- factor(m$run)
c2 <- as.matrix(read.csv(gzfile(file.path(out, "marioni_counts.csv.gz")), row.names = 1, check.names = FALSE))
one("marioni", c2, m[colnames(c2), , drop = FALSE], ~ run + tissue, "tissue")
