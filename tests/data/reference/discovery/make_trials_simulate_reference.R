# Reference operating characteristics for tests/discovery/test_trial_simulate.py (rpact 3.3.4).
# Run from the repository root: Rscript tests/data/reference/discovery/make_trials_simulate_reference.R
library(rpact)
designs <- list(
  list(id = "asOF_bsOF_3", d = getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", typeBetaSpending = "bsOF")),
  list(id = "OF_3", d = getDesignGroupSequential(kMax = 3, typeOfDesign = "OF")),
  list(id = "P_4_two_sided", d = getDesignGroupSequential(kMax = 4, typeOfDesign = "P", sided = 2, alpha = 0.05)),
  list(id = "asHSD_2", d = getDesignGroupSequential(kMax = 2, typeOfDesign = "asHSD", gammaA = -2,
                                                     informationRates = c(0.4, 1)))
)
rows <- list()
add <- function(id, endpoint, p, nmax, col, hyp, r) {
  k <- nrow(p$rejectPerStage)
  fut <- if (is.null(p$futilityPerStage) || length(p$futilityPerStage) == 0) rep(0, k - 1) else p$futilityPerStage[, col]
  en <- if (endpoint == "survival") p$expectedNumberOfEvents[col] else p$expectedNumberOfSubjects[col]
  data.frame(design = id, endpoint = endpoint, hypothesis = hyp, n_max = nmax, allocation_ratio = r,
             look = seq_len(k), reject = p$rejectPerStage[, col], futility = c(fut, NA),
             overall_reject = p$overallReject[col], expected_n = en)
}
for (x in designs) {
  for (r in c(1, 2)) {
    p <- getPowerMeans(x$d, groups = 2, normalApproximation = TRUE, alternative = c(0, 0.4), stDev = 1.2,
                       maxNumberOfSubjects = 200, allocationRatioPlanned = r)
    rows[[length(rows) + 1]] <- add(x$id, "means", p, 200, 1, "H0", r)
    rows[[length(rows) + 1]] <- add(x$id, "means", p, 200, 2, "H1", r)
    s <- getPowerSurvival(x$d, hazardRatio = c(1, 0.7), lambda2 = 0.05, maxNumberOfEvents = 250,
                          maxNumberOfSubjects = 400, allocationRatioPlanned = r, directionUpper = FALSE)
    rows[[length(rows) + 1]] <- add(x$id, "survival", s, 250, 1, "H0", r)
    rows[[length(rows) + 1]] <- add(x$id, "survival", s, 250, 2, "H1", r)
    q <- getPowerRates(x$d, groups = 2, pi1 = c(0.3, 0.5), pi2 = 0.3, maxNumberOfSubjects = 200,
                       allocationRatioPlanned = r)
    rows[[length(rows) + 1]] <- add(x$id, "rates", q, 200, 1, "H0", r)
    rows[[length(rows) + 1]] <- add(x$id, "rates", q, 200, 2, "H1", r)
  }
}
out <- do.call(rbind, rows)
write.csv(out, "tests/data/discovery/trials/simulate_power.csv", row.names = FALSE)
cat("rpact", as.character(packageVersion("rpact")), "\n")
