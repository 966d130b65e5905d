# Reference outputs for biolake publichealth impact / seir (tests/publichealth/test_impact*.py, test_seir*.py).
# Run from this directory:  Rscript make_impact_reference.R
# Writes the simulated inputs (its_monthly.csv, did_panel.csv) and R's fits of them (ref_*.csv),
# plus versions.txt. Not run in CI.
suppressPackageStartupMessages({library(sandwich); library(lmtest); library(MASS); library(deSolve)})
set.seed(20261127)

coef_table <- function(est, se, model) {
  data.frame(model = model, term = names(est), estimate = unname(est), se = unname(se), row.names = NULL)
}

# ---------------------------------------------------------------- ITS: monthly counts, intervention 2019-01
n <- 72
date <- seq(as.Date("2015-01-01"), by = "month", length.out = n)
time <- seq_len(n)
post <- as.integer(date >= as.Date("2019-01-01"))
t0 <- min(time[post == 1])
slope <- (time - t0) * post
population <- round(100000 * (1 + 0.004 * time) + rnorm(n, 0, 500))
x <- round(rnorm(n), 4)
mu <- population / 1e5 * exp(3 + 0.01 * time - 0.3 * post - 0.01 * slope + 0.25 * sin(2 * pi * time / 12) +
  0.1 * cos(2 * pi * time / 12) + 0.05 * x)
count <- rnbinom(n, size = 30, mu = mu)
rate <- round(count / population * 1e5, 6)
its <- data.frame(date = date, count = count, population = population, x = x, rate = rate)
write.csv(its, "its_monthly.csv", row.names = FALSE, quote = FALSE)

d <- data.frame(its, time = time, level = post, slope = slope,
                sin1 = sin(2 * pi * time / 12), cos1 = cos(2 * pi * time / 12),
                sin2 = sin(4 * pi * time / 12), cos2 = cos(4 * pi * time / 12),
                month = factor(as.integer(format(date, "%m"))))
ctl <- glm.control(epsilon = 1e-12, maxit = 100)
out <- list()
# OLS segmented regression on the rate, Newey-West (prewhite = FALSE) with lag 3, adjust FALSE and TRUE
ols <- lm(rate ~ time + level + slope + x, data = d)
for (adj in c(FALSE, TRUE)) {
  V <- NeweyWest(ols, lag = 3, prewhite = FALSE, adjust = adj)
  out[[length(out) + 1]] <- coef_table(coef(ols), sqrt(diag(V)), paste0("ols_nw3_adjust_", adj))
}
V0 <- NeweyWest(ols, lag = 0, prewhite = FALSE, adjust = FALSE)
out[[length(out) + 1]] <- coef_table(coef(ols), sqrt(diag(V0)), "ols_nw0_adjust_FALSE")
# Poisson with 2 Fourier pairs (period 12) and log-population offset
pf <- glm(count ~ time + level + slope + sin1 + cos1 + sin2 + cos2 + offset(log(population)), family = poisson,
          data = d, control = ctl)
out[[length(out) + 1]] <- coef_table(coef(pf), sqrt(diag(vcov(pf))), "poisson_fourier2_offset")
qp <- glm(count ~ time + level + slope + sin1 + cos1 + sin2 + cos2 + offset(log(population)), family = quasipoisson,
          data = d, control = ctl)
out[[length(out) + 1]] <- coef_table(coef(qp), sqrt(diag(vcov(qp))), "quasipoisson_fourier2_offset")
nb <- glm.nb(count ~ time + level + slope + sin1 + cos1 + offset(log(population)), data = d, control = ctl)
out[[length(out) + 1]] <- coef_table(c(coef(nb), theta = nb$theta), c(sqrt(diag(vcov(nb))), nb$SE.theta),
                                     "negbin_fourier1_offset")
pm <- glm(count ~ time + level + slope + month + x, family = poisson, data = d, control = ctl)
out[[length(out) + 1]] <- coef_table(coef(pm), sqrt(diag(vcov(pm))), "poisson_month_x")
write.csv(do.call(rbind, out), "ref_its.csv", row.names = FALSE, quote = FALSE)
# counterfactual of the Poisson fit (level = slope = 0) with its 95% Wald band on the link scale
cf <- d; cf$level <- 0; cf$slope <- 0
p <- predict(pf, newdata = cf, type = "link", se.fit = TRUE)
write.csv(data.frame(date = d$date, counterfactual = exp(p$fit), cf_lower = exp(p$fit - qnorm(0.975) * p$se.fit),
                     cf_upper = exp(p$fit + qnorm(0.975) * p$se.fit)), "ref_its_counterfactual.csv",
          row.names = FALSE, quote = FALSE)
# coeftest p-values of the OLS/NW fit (t with n - k df) and of the quasi-Poisson fit
ct <- coeftest(ols, vcov. = NeweyWest(ols, lag = 3, prewhite = FALSE, adjust = FALSE))
ci <- coefci(ols, vcov. = NeweyWest(ols, lag = 3, prewhite = FALSE, adjust = FALSE))
write.csv(data.frame(term = rownames(ct), p = ct[, 4], ci_lower = ci[, 1], ci_upper = ci[, 2]),
          "ref_its_ols_tests.csv", row.names = FALSE, quote = FALSE)

# ---------------------------------------------------------------- DiD: 24 units x 14 periods, staggered adoption
units <- sprintf("u%02d", 1:24)
periods <- 1:14
start <- c(rep(6, 6), rep(9, 6), rep(NA, 12))
panel <- expand.grid(period = periods, unit = units, stringsAsFactors = FALSE)[, c("unit", "period")]
ui <- match(panel$unit, units)
panel$treat <- as.integer(!is.na(start[ui]) & panel$period >= start[ui])
alpha <- rnorm(24, 0, 1); gam <- cumsum(rnorm(14, 0.1, 0.3))
eff <- ifelse(panel$treat == 1, 1.5 + 0.2 * (panel$period - start[ui]), 0)
panel$y <- round(alpha[ui] + gam[panel$period] + eff + rnorm(nrow(panel), 0, 0.5 + 0.3 * (ui %% 3)), 5)
write.csv(panel, "did_panel.csv", row.names = FALSE, quote = FALSE)

tw <- lm(y ~ treat + factor(unit) + factor(period), data = panel)
V <- vcovCL(tw, cluster = ~unit, type = "HC1")
did <- coef_table(coef(tw)["treat"], sqrt(V["treat", "treat"]), "twfe_hc1")
V0 <- vcovCL(tw, cluster = ~unit, type = "HC0")
did <- rbind(did, coef_table(coef(tw)["treat"], sqrt(V0["treat", "treat"]), "twfe_hc0"))
# event study: relative-time dummies (all observed leads/lags), reference -1, never-treated all zero
rel <- panel$period - start[ui]
levs <- sort(unique(rel[!is.na(rel)]))
levs <- levs[levs != -1]
for (k in levs) panel[[paste0("rel_", ifelse(k < 0, paste0("m", -k), k))]] <- as.integer(!is.na(rel) & rel == k)
rhs <- paste(paste0("rel_", ifelse(levs < 0, paste0("m", -levs), levs)), collapse = " + ")
es <- lm(as.formula(paste("y ~", rhs, "+ factor(unit) + factor(period)")), data = panel)
Ves <- vcovCL(es, cluster = ~unit, type = "HC1")
keep <- grep("^rel_", names(coef(es)), value = TRUE)
est <- coef(es)[keep]
ok <- !is.na(est)
did <- rbind(did, coef_table(est[ok], sqrt(diag(Ves)[keep[ok]]), "event_study_hc1"))
if (any(!ok)) cat("aliased:", keep[!ok], "\n")
write.csv(did, "ref_did.csv", row.names = FALSE, quote = FALSE)

# ---------------------------------------------------------------- SEIR / SIR trajectories (deSolve lsoda)
seir <- function(t, s, p) with(as.list(c(s, p)), {
  inf <- beta * S * I / N
  list(c(-inf, inf - sigma * E, sigma * E - gamma * I, gamma * I, sigma * E))
})
sir <- function(t, s, p) with(as.list(c(s, p)), {
  inf <- beta * S * I / N
  list(c(-inf, inf - gamma * I, gamma * I, inf))
})
N <- 1e6
tt <- 0:120
o1 <- ode(c(S = N - 10, E = 0, I = 10, R = 0, C = 0), tt, seir, c(beta = 0.6, sigma = 1 / 3, gamma = 1 / 5, N = N),
          method = "lsoda", rtol = 1e-12, atol = 1e-8)
o2 <- ode(c(S = N - 5, I = 5, R = 0, C = 0), tt, sir, c(beta = 0.45, gamma = 1 / 4, N = N),
          method = "lsoda", rtol = 1e-12, atol = 1e-8)
write.csv(data.frame(model = "seir", as.data.frame(o1)), "ref_seir_trajectory.csv", row.names = FALSE, quote = FALSE)
write.csv(data.frame(model = "sir", as.data.frame(o2)[, c("time", "S")], E = 0, as.data.frame(o2)[, c("I", "R", "C")]),
          "ref_sir_trajectory.csv", row.names = FALSE, quote = FALSE)

writeLines(c(R.version.string,
             paste("sandwich", packageVersion("sandwich")), paste("lmtest", packageVersion("lmtest")),
             paste("MASS", packageVersion("MASS")), paste("deSolve", packageVersion("deSolve"))), "versions.txt")
