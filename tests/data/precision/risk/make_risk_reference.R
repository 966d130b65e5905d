# Reference outputs for biolake precision risk (tests/precision/test_risk_*.py).
# Run from this directory: Rscript make_risk_reference.R
# Needs: survival, MASS, pROC, rms (Debian r-cran-rms), riskRegression and pec (r-cran-riskregression, r-cran-pec).
suppressPackageStartupMessages({
  library(survival); library(MASS); library(pROC); library(rms); library(riskRegression); library(pec)
})
options(digits = 17)
wr <- function(x, f) write.csv(x, f, row.names = FALSE, na = "NA")

# ---------------------------------------------------------------- binary: MASS::birthwt
bw <- MASS::birthwt
bw$race <- c("white", "black", "other")[bw$race]          # text: one-hot, first sorted level (black) = baseline
bw$race <- factor(bw$race, levels = sort(unique(bw$race)))
bw <- bw[, c("low", "age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv")]
wr(transform(bw, race = as.character(race)), "birthwt.csv")
ctl <- glm.control(epsilon = 1e-15, maxit = 100)
full <- glm(low ~ age + lwt + race + smoke + ptl + ht + ui + ftv, binomial, bw, control = ctl)
wr(data.frame(term = names(coef(full)), coef = unname(coef(full)), se = sqrt(diag(vcov(full)))), "birthwt_glm.csv")

# a model fitted on 120 random rows, validated on the other 69 (so calibration is not perfect)
set.seed(20261127); idx <- sort(sample(nrow(bw), 120))
train <- bw[idx, ]; test <- bw[-idx, ]
fit <- glm(low ~ age + lwt + race + smoke + ptl + ht + ui + ftv, binomial, train, control = ctl)
p <- unname(predict(fit, test, type = "response"))
y <- test$low
vp <- val.prob(p, y, pl = FALSE)
recal <- glm(y ~ qlogis(p), binomial, control = ctl)
large <- glm(y ~ offset(qlogis(p)), binomial, control = ctl)
# average precision by its definition: sum over distinct thresholds (decreasing) of (R_k - R_k-1) * P_k
thr <- sort(unique(p), decreasing = TRUE)
tp <- sapply(thr, function(t) sum(y[p >= t])); npos <- sapply(thr, function(t) sum(p >= t))
ap <- sum(diff(c(0, tp / sum(y))) * tp / npos)
thresholds <- seq(0.05, 0.60, by = 0.05)
nb <- sapply(thresholds, function(t) mean(p >= t & y == 1) - mean(p >= t & y == 0) * t / (1 - t))
nball <- mean(y) - (1 - mean(y)) * thresholds / (1 - thresholds)
wr(data.frame(y = y, p = p), "birthwt_validation.csv")
wr(data.frame(
  metric = c("auc_pROC", "C_valprob", "Brier", "Intercept", "Slope", "glm_intercept", "glm_slope",
             "in_the_large", "average_precision"),
  value = c(as.numeric(pROC::auc(pROC::roc(y, p, direction = "<", quiet = TRUE))), vp[["C (ROC)"]], vp[["Brier"]],
            vp[["Intercept"]], vp[["Slope"]], coef(recal)[[1]], coef(recal)[[2]], coef(large)[[1]], ap)
), "birthwt_metrics.csv")
wr(data.frame(threshold = thresholds, model = nb, treat_all = nball), "birthwt_net_benefit.csv")

# ---------------------------------------------------------------- survival: survival::lung
lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog", "ph.karno")]
lung <- lung[complete.cases(lung), ]
lung$status <- lung$status - 1L
rownames(lung) <- NULL
wr(lung, "lung_risk.csv")
cfit <- coxph(Surv(time, status) ~ age + sex + ph.ecog + ph.karno, lung, ties = "efron", x = TRUE)
lp <- unname(predict(cfit, type = "lp"))
harrell <- concordance(cfit)
uno <- concordance(cfit, timewt = "n/G2")
uno365 <- concordance(cfit, timewt = "n/G2", ymax = 365)
times <- c(90, 180, 270, 365, 540, 730)
risk <- predictRisk(cfit, newdata = lung, times = times)            # 1 - S(t | x)
sc <- Score(list(cox = risk), formula = Surv(time, status) ~ 1, data = lung, times = times,
            metrics = c("auc", "brier"), cens.model = "km", conf.int = FALSE, null.model = FALSE)
auc <- as.data.frame(sc$AUC$score); bri <- as.data.frame(sc$Brier$score)
wr(data.frame(lp = lp, setNames(as.data.frame(1 - risk), paste0("S_", times))), "lung_predictions.csv")
# integrated Brier score: pec's crps (Dint) on a grid of time points, survival probabilities as a matrix
grid <- c(0, seq(30, 720, by = 30))
sgrid <- 1 - predictRisk(cfit, newdata = lung, times = grid)
wr(as.data.frame(setNames(as.data.frame(sgrid), paste0("S_", grid))), "lung_surv_grid.csv")
pe <- pec(list(cox = sgrid), formula = Surv(time, status) ~ 1, data = lung, times = grid, exact = FALSE,
          cens.model = "marginal", reference = FALSE, verbose = FALSE)
ibs <- crps(pe, times = 720, start = 0); print(ibs)
wr(data.frame(time = grid, brier = pe$AppErr$cox), "lung_pec_brier.csv")
wr(data.frame(
  metric = c("harrell", "harrell_concordant", "harrell_discordant", "harrell_tied_x", "uno", "uno_ymax365", "ibs_720"),
  value = c(harrell$concordance, harrell$count[["concordant"]], harrell$count[["discordant"]],
            harrell$count[["tied.x"]], uno$concordance, uno365$concordance, as.numeric(ibs)[1])
), "lung_metrics.csv")
wr(data.frame(time = auc$times, auc = auc$AUC, brier = bri$Brier), "lung_time_metrics.csv")
wr(data.frame(term = names(coef(cfit)), coef = unname(coef(cfit))), "lung_cox.csv")

writeLines(c(R.version.string, sapply(c("survival", "MASS", "pROC", "rms", "riskRegression", "pec"),
  function(p) paste(p, as.character(packageVersion(p))))), "reference_versions.txt")
