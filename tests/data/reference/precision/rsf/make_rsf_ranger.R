# Reference outputs of ranger's random survival forest (log-rank splitting) for
# tests/stats/test_rsf_ranger.py.  Run from this directory:  Rscript make_rsf_ranger.R
#
# 1. Deterministic single trees (mtry = p, no resampling): every node sees every variable
#    and all rows, so the tree, its leaves and its cumulative hazard are fixed by the data;
#    biolake must reproduce predict(...)$chf exactly (up to rounding).
# 2. Full forests with ranger's defaults (500 trees): random, so only the out-of-bag-free
#    quantities that are stable across seeds are compared (C-index of the ensemble mortality
#    on a test set, mean survival at three times).
suppressPackageStartupMessages({library(ranger); library(survival)})
cat(sprintf("ranger %s, survival %s, %s\n", packageVersion("ranger"), packageVersion("survival"), R.version.string))

sim <- function(n, p, seed) {
  set.seed(seed)
  x <- matrix(rnorm(n * p), n, p)
  colnames(x) <- paste0("x", seq_len(p))
  lp <- 0.8 * x[, 1] - 0.5 * x[, 2] + 0.4 * (x[, 3] > 0)
  t <- rexp(n, exp(lp))
  cens <- rexp(n, 0.5)
  data.frame(time = round(pmin(t, cens), 2), status = as.integer(t <= cens), x)
}

lung2 <- na.omit(survival::lung[, c("time", "status", "age", "sex", "ph.ecog", "ph.karno", "wt.loss")])
lung2$status <- as.integer(lung2$status == 2)
vet <- survival::veteran
vet <- data.frame(time = vet$time, status = vet$status, karno = vet$karno, diagtime = vet$diagtime,
                  age = vet$age, prior = vet$prior, trt = vet$trt)
sets <- list(sim1 = sim(200, 4, 1), sim2 = sim(400, 6, 2), lung = lung2, veteran = vet)

for (name in names(sets)) {
  d <- sets[[name]]
  write.csv(d, sprintf("%s_data.csv", name), row.names = FALSE)
  p <- ncol(d) - 2
  fit <- ranger(Surv(time, status) ~ ., data = d, num.trees = 1, mtry = p, replace = FALSE,
                sample.fraction = 1, min.node.size = 3, splitrule = "logrank", seed = 1, num.threads = 1)
  pr <- predict(fit, d, num.threads = 1)
  out <- data.frame(row = rep(seq_len(nrow(d)), times = length(pr$unique.death.times)),
                    time = rep(pr$unique.death.times, each = nrow(d)),
                    chf = as.vector(pr$chf))
  write.csv(out, gzfile(sprintf("%s_tree_chf.csv.gz", name)), row.names = FALSE)
}

# forests: train on the first 2/3 of sim2 and the lung set, predict the rest
for (name in c("sim2", "lung")) {
  d <- sets[[name]]
  n_train <- floor(2 * nrow(d) / 3)
  tr <- d[seq_len(n_train), ]; te <- d[-seq_len(n_train), ]
  res <- NULL
  for (seed in 1:5) {
    fit <- ranger(Surv(time, status) ~ ., data = tr, num.trees = 500, splitrule = "logrank", seed = seed,
                  num.threads = 1)
    pr <- predict(fit, te, num.threads = 1)
    mort <- rowSums(pr$chf)
    cidx <- survival::concordance(Surv(te$time, te$status) ~ mort, reverse = TRUE)$concordance
    qt <- quantile(tr$time[tr$status == 1], c(0.25, 0.5, 0.75), type = 7)
    idx <- sapply(qt, function(q) max(which(pr$unique.death.times <= q)))
    s <- colMeans(pr$survival[, idx, drop = FALSE])
    res <- rbind(res, data.frame(seed = seed, c_index = cidx, t25 = qt[1], t50 = qt[2], t75 = qt[3],
                                 s25 = s[1], s50 = s[2], s75 = s[3]))
  }
  write.csv(res, sprintf("%s_forest_summary.csv", name), row.names = FALSE)
}
