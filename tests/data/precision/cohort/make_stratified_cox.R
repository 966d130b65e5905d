# Reference for tests/precision/test_cohort_outcome.py: R survival coxph with strata, Efron ties.
# Run: Rscript make_stratified_cox.R   (writes stratified_cox_data.csv and stratified_cox_ref.csv)
library(survival)
set.seed(20261127)
n <- 600
set_id <- rep(1:200, each = 3)            # matched sets of 3 (1 target : 2 comparators)
x <- rep(c(1, 0, 0), 200)
frailty <- rep(rnorm(200, 0, 0.7), each = 3)
t_event <- rexp(n, 0.01 * exp(0.5 * x + frailty))
cens <- runif(n, 20, 200)
time <- pmin(ceiling(t_event), ceiling(cens))  # day resolution: many ties
event <- as.integer(t_event <= cens)
d <- data.frame(time = time, event = event, x = x, set_id = set_id)
write.csv(d, "stratified_cox_data.csv", row.names = FALSE)
out <- list()
for (model in c("strata_efron", "strata_breslow", "plain_efron")) {
  f <- if (model == "plain_efron") Surv(time, event) ~ x else Surv(time, event) ~ x + strata(set_id)
  ties <- if (model == "strata_breslow") "breslow" else "efron"
  fit <- coxph(f, data = d, ties = ties, control = coxph.control(eps = 1e-12, iter.max = 50))
  out[[model]] <- data.frame(model = model, coef = unname(coef(fit)), se = sqrt(fit$var[1, 1]),
                             loglik = fit$loglik[2])
}
write.csv(do.call(rbind, out), "stratified_cox_ref.csv", row.names = FALSE)
cat("R", R.version.string, "survival", as.character(packageVersion("survival")), "\n", file = "versions.txt")
