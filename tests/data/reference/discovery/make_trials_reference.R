# Reference outputs of R rpact (Debian r-cran-rpact 3.3.4) for biolake's trial design and
# sample-size tests (tests/discovery/test_trial_*.py).
#
# Not run in CI. Regenerate from the repository root with
#
#     Rscript tests/data/reference/discovery/make_trials_reference.R
#
# Writes to tests/data/discovery/trials/:
#   designs.csv     one row per design: id, kmax, alpha, sided, type, gamma, rates (";"-joined),
#                   beta, inflation_factor, expected_n_h0, expected_n_h01, expected_n_h1
#                   (getDesignGroupSequential + getDesignCharacteristics)
#   boundaries.csv  one row per design and look: id, look, critical_value, stage_level, alpha_spent
#   designs_futility.csv, boundaries_futility.csv   the same for one-sided alpha-spending designs
#                   with beta-spending futility bounds (typeBetaSpending, gammaB, bindingFutility;
#                   futility_bound and beta_spent per look); status "error" where rpact refuses
#   sizes_means.csv, sizes_rates.csv, sizes_survival.csv   getSampleSize* inputs and nFixed1, nFixed2
#                   (eventsFixed for survival)
# Numbers are written with 17 significant digits.
suppressPackageStartupMessages(library(rpact))
stopifnot(packageVersion("rpact") == "3.3.4")
out_dir <- file.path("tests", "data", "discovery", "trials")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
f17 <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

unequal <- list(
  "2" = list(c(0.3, 1), c(0.6, 1)),
  "3" = list(c(0.2, 0.5, 1), c(0.4, 0.75, 1)),
  "4" = list(c(0.15, 0.4, 0.7, 1), c(0.3, 0.5, 0.8, 1)),
  "5" = list(c(0.1, 0.3, 0.5, 0.8, 1), c(0.25, 0.45, 0.6, 0.85, 1))
)
types <- list(
  list("OF", NA), list("P", NA), list("asOF", NA), list("asP", NA),
  list("asHSD", -4), list("asHSD", -3), list("asHSD", -2), list("asHSD", -1),
  list("asHSD", 0), list("asHSD", 0.5), list("asHSD", 1),
  list("asKD", 0.5), list("asKD", 1), list("asKD", 1.5), list("asKD", 2), list("asKD", 3)
)
settings <- list(list(alpha = 0.025, sided = 1), list(alpha = 0.05, sided = 1), list(alpha = 0.05, sided = 2))

designs <- list()
bounds <- list()
id <- 0
for (kmax in 2:5) {
  rate_sets <- c(list(NA), unequal[[as.character(kmax)]])
  for (rates in rate_sets) {
    for (ty in types) {
      for (s in settings) {
        id <- id + 1
        beta <- if (id %% 2 == 0) 0.2 else 0.1
        args <- list(kMax = kmax, alpha = s$alpha, sided = s$sided, typeOfDesign = ty[[1]], beta = beta)
        if (!is.na(ty[[2]])) args$gammaA <- ty[[2]]
        if (!all(is.na(rates))) args$informationRates <- rates
        d <- do.call(getDesignGroupSequential, args)
        ch <- getDesignCharacteristics(d)
        designs[[id]] <- data.frame(
          id = id, kmax = kmax, alpha = s$alpha, sided = s$sided, type = ty[[1]],
          gamma = if (is.na(ty[[2]])) "" else as.character(ty[[2]]),
          rates = if (all(is.na(rates))) "" else paste(rates, collapse = ";"), beta = beta,
          inflation_factor = f17(ch$inflationFactor), expected_n_h0 = f17(ch$averageSampleNumber0),
          expected_n_h01 = f17(ch$averageSampleNumber01), expected_n_h1 = f17(ch$averageSampleNumber1),
          stringsAsFactors = FALSE)
        bounds[[id]] <- data.frame(
          id = id, look = seq_len(kmax), critical_value = f17(d$criticalValues),
          stage_level = f17(d$stageLevels), alpha_spent = f17(d$alphaSpent), stringsAsFactors = FALSE)
      }
    }
  }
}
write.csv(do.call(rbind, designs), file.path(out_dir, "designs.csv"), row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, bounds), file.path(out_dir, "boundaries.csv"), row.names = FALSE, quote = FALSE)

# ---- futility bounds by beta spending (one-sided)
fdesigns <- list()
fbounds <- list()
fid <- 0
alpha_types <- list(list("asOF", NA), list("asP", NA), list("asKD", 2), list("asHSD", -2))
beta_types <- list(list("bsOF", NA), list("bsP", NA), list("bsKD", 2), list("bsHSD", -2))
for (kmax in 2:5) {
  for (rates in c(list(NA), unequal[[as.character(kmax)]][1])) {
    for (ty in alpha_types) for (bs in beta_types) for (binding in c(FALSE, TRUE)) {
      fid <- fid + 1
      beta <- if (fid %% 2 == 0) 0.2 else 0.1
      args <- list(kMax = kmax, alpha = 0.025, sided = 1, typeOfDesign = ty[[1]], beta = beta,
                   typeBetaSpending = bs[[1]], bindingFutility = binding)
      if (!is.na(ty[[2]])) args$gammaA <- ty[[2]]
      if (!is.na(bs[[2]])) args$gammaB <- bs[[2]]
      if (!all(is.na(rates))) args$informationRates <- rates
      d <- tryCatch(do.call(getDesignGroupSequential, args), error = function(e) NULL)
      ch <- if (is.null(d)) NULL else tryCatch(getDesignCharacteristics(d), error = function(e) NULL)
      ok <- !is.null(ch)
      fdesigns[[fid]] <- data.frame(
        id = fid, kmax = kmax, type = ty[[1]], gamma = if (is.na(ty[[2]])) "" else as.character(ty[[2]]),
        beta_spending = bs[[1]], gamma_b = if (is.na(bs[[2]])) "" else as.character(bs[[2]]),
        binding = binding, rates = if (all(is.na(rates))) "" else paste(rates, collapse = ";"), beta = beta,
        status = if (ok) "ok" else "error",
        inflation_factor = if (ok) f17(ch$inflationFactor) else "NA",
        expected_n_h0 = if (ok) f17(ch$averageSampleNumber0) else "NA",
        expected_n_h01 = if (ok) f17(ch$averageSampleNumber01) else "NA",
        expected_n_h1 = if (ok) f17(ch$averageSampleNumber1) else "NA", stringsAsFactors = FALSE)
      if (ok) {
        fbounds[[length(fbounds) + 1]] <- data.frame(
          id = fid, look = seq_len(kmax), critical_value = f17(d$criticalValues),
          futility_bound = f17(c(d$futilityBounds, NA)), stage_level = f17(d$stageLevels),
          alpha_spent = f17(d$alphaSpent), beta_spent = f17(d$betaSpent), stringsAsFactors = FALSE)
      }
    }
  }
}
write.csv(do.call(rbind, fdesigns), file.path(out_dir, "designs_futility.csv"), row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, fbounds), file.path(out_dir, "boundaries_futility.csv"), row.names = FALSE, quote = FALSE)

# ---- sample sizes: fixed designs
means <- list()
for (alternative in c(0.2, 0.35, 0.5, 0.8, 1.2, 2.5)) for (stdev in c(1, 1.7)) for (power in c(0.8, 0.9))
  for (s in settings) for (ratio in c(1, 2, 0.5)) {
    m <- getSampleSizeMeans(alternative = alternative, stDev = stdev, alpha = s$alpha, beta = 1 - power,
                            sided = s$sided, allocationRatioPlanned = ratio, normalApproximation = FALSE)
    means[[length(means) + 1]] <- data.frame(
      alternative = alternative, stdev = stdev, power = power, alpha = s$alpha, sided = s$sided,
      allocation_ratio = ratio, n1_fixed = f17(m$nFixed1), n2_fixed = f17(m$nFixed2))
  }
write.csv(do.call(rbind, means), file.path(out_dir, "sizes_means.csv"), row.names = FALSE, quote = FALSE)

rates <- list()
for (pp in list(c(0.5, 0.3), c(0.35, 0.2), c(0.15, 0.08), c(0.7, 0.6), c(0.2, 0.35))) for (power in c(0.8, 0.9))
  for (s in settings) for (ratio in c(1, 2, 0.5)) for (rr in c(FALSE, TRUE)) {
    m <- getSampleSizeRates(pi1 = pp[1], pi2 = pp[2], alpha = s$alpha, beta = 1 - power, sided = s$sided,
                            allocationRatioPlanned = ratio, riskRatio = rr)
    rates[[length(rates) + 1]] <- data.frame(
      pi1 = pp[1], pi2 = pp[2], power = power, alpha = s$alpha, sided = s$sided, allocation_ratio = ratio,
      risk_ratio = rr, n1_fixed = f17(m$nFixed1), n2_fixed = f17(m$nFixed2))
  }
write.csv(do.call(rbind, rates), file.path(out_dir, "sizes_rates.csv"), row.names = FALSE, quote = FALSE)

surv <- list()
for (hr in c(0.5, 0.7, 0.8)) for (lambda2 in c(log(2) / 12, log(2) / 30)) for (s in settings)
  for (ratio in c(1, 2)) for (dropout in c(0, 0.1)) for (method in c("Schoenfeld", "Freedman")) {
    accrual <- if (dropout == 0) 12 else 24
    follow <- if (ratio == 1) 6 else 12
    m <- getSampleSizeSurvival(hazardRatio = hr, lambda2 = lambda2, alpha = s$alpha, beta = 0.2,
                               sided = s$sided, allocationRatioPlanned = ratio, typeOfComputation = method,
                               accrualTime = c(0, accrual), followUpTime = follow,
                               dropoutRate1 = dropout, dropoutRate2 = dropout, dropoutTime = 12)
    surv[[length(surv) + 1]] <- data.frame(
      hazard_ratio = hr, lambda2 = f17(lambda2), alpha = s$alpha, sided = s$sided, allocation_ratio = ratio,
      type_of_computation = method, accrual_time = accrual, follow_up_time = follow, dropout_rate = dropout,
      n1_fixed = f17(m$nFixed1), n2_fixed = f17(m$nFixed2), events_fixed = f17(m$eventsFixed))
  }
write.csv(do.call(rbind, surv), file.path(out_dir, "sizes_survival.csv"), row.names = FALSE, quote = FALSE)
