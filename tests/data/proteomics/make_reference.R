# Reference outputs of R limma for biolake's proteomics differential abundance.
# Run from the repository root:  Rscript tests/data/proteomics/make_reference.R
# Writes the inputs (matrix CSVs, a synthetic MaxQuant proteinGroups.txt, samples tables)
# and limma's topTable(number = Inf, sort.by = "none") for each case, plus versions.txt.
suppressPackageStartupMessages(library(limma))
out <- "tests/data/proteomics"
set.seed(20261127)

# ---- data: log-normal intensities, some proteins changed, missing values more likely when low
simulate <- function(n, groups, effects, batch = NULL, batch_eff = 0, miss = 0.15, ids = NULL, sd_scale = 1) {
  m <- length(groups)
  base <- rnorm(n, 24, 2)
  sdp <- sqrt(0.1 / rchisq(n, 4) * 4) * sd_scale  # protein-wise residual SDs (scaled inverse chi-square)
  y <- matrix(base, n, m) + matrix(rnorm(n * m), n, m) * sdp
  lv <- unique(groups)
  for (k in seq_along(effects)) {
    de <- sample(n, round(0.1 * n))
    y[de, groups == names(effects)[k]] <- y[de, groups == names(effects)[k]] + effects[[k]] * sample(c(-1, 1), length(de), TRUE)
  }
  if (!is.null(batch)) y[, batch == unique(batch)[2]] <- y[, batch == unique(batch)[2]] + batch_eff
  y <- y + matrix(rnorm(m, 0, 0.3), n, m, byrow = TRUE)  # sample loading differences
  p_miss <- plogis((21 - y) * 1.5) + miss * 0.2            # low values go missing more often
  y[matrix(runif(n * m), n, m) < p_miss] <- NA
  raw <- 2^y
  if (is.null(ids)) ids <- sprintf("P%05d", seq_len(n))
  rownames(raw) <- ids
  raw
}

write_matrix <- function(raw, file) {
  df <- data.frame(protein = rownames(raw), raw, check.names = FALSE)
  write.csv(df, file.path(out, file), row.names = FALSE, na = "NA", quote = FALSE)
}

median_centre <- function(y) {
  med <- apply(y, 2, median, na.rm = TRUE)
  sweep(y, 2, med - mean(med))
}

keep_rows <- function(y, groups, min_valid) {
  nv <- rowSums(!is.na(y))
  k <- nv >= 2
  if (min_valid > 0) {
    g <- sapply(unique(groups), function(l) rowSums(!is.na(y[, groups == l, drop = FALSE])))
    k <- k & apply(g >= min_valid, 1, any)
  }
  k
}

run_limma <- function(raw, samples, formula, factor, num, den, normalize, min_valid, trend, robust, file) {
  y <- log2(raw)
  y[!is.finite(y)] <- NA
  y <- y[keep_rows(y, samples[[factor]], min_valid), , drop = FALSE]
  if (normalize == "median") y <- median_centre(y)
  if (normalize == "quantile") y <- normalizeQuantiles(y)
  for (f in all.vars(formula)) samples[[f]] <- factor(samples[[f]])
  samples[[factor]] <- relevel(samples[[factor]], ref = den)   # log_fc = num over den
  design <- model.matrix(formula, data = samples)
  fit <- eBayes(lmFit(y, design), trend = trend, robust = robust)
  coef <- paste0(factor, num)
  tt <- topTable(fit, coef = coef, number = Inf, sort.by = "none")
  res <- data.frame(protein = rownames(tt), log_fc = tt$logFC, ave_expr = tt$AveExpr, t = tt$t,
                    pvalue = tt$P.Value, padj = tt$adj.P.Val, b = tt$B)
  write.csv(res, file.path(out, file), row.names = FALSE, quote = FALSE)
  cat(file, ": ", nrow(res), " proteins, df.prior ", paste(signif(range(fit$df.prior), 6), collapse = "-"), "\n", sep = "")
}

# ---- case 1: two groups, median normalisation, missing values
g2 <- rep(c("A", "B"), each = 4)
ids2 <- sprintf("P%05d", 1:800)
ids2[1:5] <- sprintf("%06d", 1:5)                       # numeric ids with leading zeros
raw2 <- simulate(800, g2, list(B = 1.5), ids = ids2)
colnames(raw2) <- sprintf("s%02d", 1:8)
write_matrix(raw2, "two_matrix.csv")
s2 <- data.frame(sample = colnames(raw2), condition = g2)
write.csv(s2, file.path(out, "two_samples.csv"), row.names = FALSE, quote = FALSE)
run_limma(raw2, s2, ~ condition, "condition", "B", "A", "median", 0, FALSE, FALSE, "two_median.csv")
run_limma(raw2, s2, ~ condition, "condition", "A", "B", "median", 0, FALSE, FALSE, "two_median_rev.csv")
run_limma(raw2, s2, ~ condition, "condition", "B", "A", "median", 0, TRUE, FALSE, "two_median_trend.csv")
run_limma(raw2, s2, ~ condition, "condition", "B", "A", "median", 0, FALSE, TRUE, "two_median_robust.csv")
run_limma(raw2, s2, ~ condition, "condition", "B", "A", "median", 0, TRUE, TRUE, "two_median_trend_robust.csv")
run_limma(raw2, s2, ~ condition, "condition", "B", "A", "quantile", 3, FALSE, FALSE, "two_quantile_mv3.csv")
run_limma(raw2, s2, ~ condition, "condition", "B", "A", "none", 0, FALSE, FALSE, "two_none.csv")

# ---- case 2: three levels + a batch covariate, contrast between two non-reference levels
g3 <- rep(c("ctl", "drugX", "drugY"), each = 4)
b3 <- rep(c("b1", "b2"), times = 6)
raw3 <- simulate(1000, g3, list(drugX = 1, drugY = 1.5), batch = b3, batch_eff = 0.7)
colnames(raw3) <- sprintf("run_%02d", 1:12)
write_matrix(raw3, "three_matrix.csv")
s3 <- data.frame(sample = colnames(raw3), `cell batch` = b3, condition = g3, check.names = FALSE)
write.csv(s3, file.path(out, "three_samples.csv"), row.names = FALSE, quote = FALSE)
f3 <- ~ `cell batch` + condition
run_limma(raw3, s3, f3, "condition", "drugY", "drugX", "quantile", 3, TRUE, FALSE, "three_quantile_trend.csv")
run_limma(raw3, s3, f3, "condition", "drugY", "drugX", "median", 0, FALSE, TRUE, "three_median_robust.csv")
run_limma(raw3, s3, f3, "condition", "drugX", "ctl", "median", 2, TRUE, TRUE, "three_median_trend_robust.csv")

# ---- case 3: a synthetic MaxQuant proteinGroups.txt (label-free; the real column layout)
nmq <- 300
smq <- c("ctrl_1", "ctrl_2", "ctrl_3", "treat_1", "treat_2", "treat_3")
gmq <- rep(c("ctrl", "treat"), each = 3)
rawmq <- simulate(nmq, gmq, list(treat = 2))
acc <- sprintf("Q%05d", 1:nmq)
con <- rep("", nmq); rev <- rep("", nmq); site <- rep("", nmq)
con[c(3, 50, 120, 299)] <- "+"; rev[c(7, 80, 200)] <- "+"; site[c(11, 150)] <- "+"; con[200] <- "+"
pids <- ifelse(rev == "+", paste0("REV__", acc), ifelse(con == "+", paste0("CON__", acc), acc))
pids[seq(2, nmq, 10)] <- paste0(pids[seq(2, nmq, 10)], ";", sprintf("A0A%06d", seq(2, nmq, 10)))
majority <- sub(";.*", "", pids)
lfq <- rawmq; lfq[is.na(lfq)] <- 0
lfq <- round(lfq)
intens <- round(lfq * runif(length(lfq), 1.0, 1.3)); ibaq <- round(intens / sample(5:60, nmq, TRUE))
mq <- data.frame(`Protein IDs` = pids, `Majority protein IDs` = majority,
                 `Peptide counts (all)` = 5, `Protein names` = paste("Protein", 1:nmq),
                 `Gene names` = sprintf("GENE%d", 1:nmq), `Fasta headers` = "", `Number of proteins` = 1,
                 Peptides = 5, `Razor + unique peptides` = 4, `Unique peptides` = 3, check.names = FALSE)
for (s in smq) mq[[paste("Peptides", s)]] <- 2
mq[["Sequence coverage [%]"]] <- 12.5; mq[["Mol. weight [kDa]"]] <- 50; mq[["Q-value"]] <- 0; mq[["Score"]] <- 100
mq[["Intensity"]] <- rowSums(intens)
for (j in seq_along(smq)) mq[[paste("Intensity", smq[j])]] <- intens[, j]
mq[["iBAQ"]] <- rowSums(ibaq); mq[["iBAQ peptides"]] <- 10
for (j in seq_along(smq)) mq[[paste("iBAQ", smq[j])]] <- ibaq[, j]
for (j in seq_along(smq)) mq[[paste("LFQ intensity", smq[j])]] <- lfq[, j]
for (s in smq) mq[[paste("MS/MS count", s)]] <- 3
mq[["Only identified by site"]] <- site; mq[["Reverse"]] <- rev; mq[["Potential contaminant"]] <- con
mq[["id"]] <- 0:(nmq - 1); mq[["Peptide IDs"]] <- "1;2;3"
write.table(mq, file.path(out, "proteinGroups.txt"), sep = "\t", row.names = FALSE, quote = FALSE, na = "")
smqdf <- data.frame(sample = smq, condition = gmq)
write.csv(smqdf, file.path(out, "maxquant_samples.csv"), row.names = FALSE, quote = FALSE)
# what biolake's MaxQuant reader must do: drop flagged rows, LFQ columns, zeros are missing
pg <- read.delim(file.path(out, "proteinGroups.txt"), check.names = FALSE, colClasses = "character")
pg <- pg[pg[["Potential contaminant"]] != "+" & pg[["Reverse"]] != "+" & pg[["Only identified by site"]] != "+", ]
for (q in c("lfq", "ibaq")) {
  cols <- paste(if (q == "lfq") "LFQ intensity" else "iBAQ", smq)
  x <- sapply(cols, function(c) as.numeric(pg[[c]]))
  x[x == 0] <- NA
  colnames(x) <- smq; rownames(x) <- pg[["Majority protein IDs"]]
  run_limma(x, smqdf, ~ condition, "condition", "treat", "ctrl", "median", 2, FALSE, FALSE, paste0("maxquant_", q, ".csv"))
}

# ---- case 4: many samples, tiny noise, huge t: limma's tmixture meets qt() in the far tail (log p < log(DBL_MIN))
g4 <- rep(c("A", "B"), each = 150)
raw4 <- simulate(200, g4, list(B = 3), sd_scale = ifelse(1:200 %% 5 == 0, 0.01, 1))
colnames(raw4) <- sprintf("w%03d", 1:300)
con4 <- gzfile(file.path(out, "wide_matrix.csv.gz"), "w")
write.csv(data.frame(protein = rownames(raw4), raw4, check.names = FALSE), con4, row.names = FALSE, na = "NA", quote = FALSE)
close(con4)
s4 <- data.frame(sample = colnames(raw4), condition = g4)
write.csv(s4, file.path(out, "wide_samples.csv"), row.names = FALSE, quote = FALSE)
run_limma(raw4, s4, ~ condition, "condition", "B", "A", "median", 0, TRUE, FALSE, "wide_median_trend.csv")

writeLines(c(R.version.string, paste("limma", packageVersion("limma")), paste("statmod", packageVersion("statmod")),
             paste("splines", packageVersion("splines"))), file.path(out, "versions.txt"))
