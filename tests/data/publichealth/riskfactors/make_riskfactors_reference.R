# Reference outputs for tests/publichealth/test_riskfactors*.py (run here, not in CI):
#   cd tests/data/publichealth/riskfactors && Rscript make_riskfactors_reference.R
# Data: epitools' wcgs (Western Collaborative Group Study) and oswego; MASS's quine and Insurance.
suppressMessages({library(epitools); library(epiR); library(MASS)})
num <- function(df) { for (n in names(df)) if (is.numeric(df[[n]])) df[[n]] <- ifelse(is.na(df[[n]]), NA, sprintf("%.17g", df[[n]])); df }
out <- function(df, file) write.csv(num(df), file, row.names = FALSE, quote = TRUE, na = "")
radix <- function(x) factor(x, levels = sort(unique(x), method = "radix"))  # C-locale level order, as biolake
tight <- glm.control(epsilon = 1e-14, maxit = 200)
# glm's SEs come from the IRLS weights of the iteration before its last step; refitting from the
# converged coefficients evaluates them at the maximum likelihood estimate itself
glm2 <- function(f, family, data) {
  fit <- glm(f, family, data, control = tight)
  glm(f, family, data, control = tight, start = coef(fit))
}

data(wcgs)
wcgs$agegrp <- as.character(cut(wcgs$age0, c(38, 44, 49, 54, 60), labels = c("39-44", "45-49", "50-54", "55-59")))
wcgs$smoker <- as.integer(wcgs$ncigs0 > 0)
keep <- c("id", "age0", "agegrp", "chol0", "sbp0", "smoker", "dibpat0", "arcus0", "chd69", "time169")
out(wcgs[, keep], "wcgs.csv")

coefs <- function(model, fit, data_name) {
  s <- summary(fit)$coefficients
  data.frame(data = data_name, model = model, term = rownames(s), coef = s[, 1], se = s[, 2], p = s[, 4],
             theta = if (is.null(fit$theta)) NA else fit$theta, row.names = NULL)
}
res <- list()
# logistic (case-control style adjusted ORs); rows with a missing chol0/arcus0 dropped (na.omit)
f <- chd69 ~ dibpat0 + age0 + chol0 + sbp0 + smoker + arcus0
res[[1]] <- coefs("logistic", glm2(f, binomial, wcgs), "wcgs")
res[[2]] <- coefs("logistic_default_control", glm(f, binomial, wcgs), "wcgs")
# logistic with the age group as a factor (treatment contrasts)
res[[3]] <- coefs("logistic_strata", glm2(chd69 ~ dibpat0 + smoker + radix(agegrp), binomial, wcgs), "wcgs")
# Poisson with log person-time offset (adjusted rate ratios per person-day)
fp <- chd69 ~ dibpat0 + age0 + chol0 + smoker + offset(log(time169))
res[[4]] <- coefs("poisson", glm2(fp, poisson, wcgs), "wcgs")
# negative binomial: MASS's quine (days absent), the glm.nb help-page model
quine2 <- quine
for (v in c("Eth", "Sex", "Age", "Lrn")) quine2[[v]] <- as.character(quine2[[v]])
out(quine2, "quine.csv")
fq <- Days ~ radix(Eth) + radix(Sex) + radix(Age) + radix(Lrn)
res[[5]] <- coefs("negbin", glm.nb(fq, data = quine2, control = tight), "quine")
res[[6]] <- coefs("negbin_default_control", glm.nb(fq, data = quine2), "quine")
res[[7]] <- coefs("poisson", glm2(fq, poisson, quine2), "quine")
# Poisson with offset and factors: MASS's Insurance (claims per policy holder)
ins <- data.frame(District = as.character(Insurance$District), Group = as.character(Insurance$Group),
                  Age = as.character(Insurance$Age), Holders = Insurance$Holders, Claims = Insurance$Claims)
out(ins, "insurance.csv")
fi <- Claims ~ radix(District) + radix(Group) + radix(Age) + offset(log(Holders))
res[[8]] <- coefs("poisson", glm2(fi, poisson, ins), "insurance")
all <- do.call(rbind, res)
all$term <- gsub("^radix\\(([A-Za-z0-9_.]+)\\)", "\\1", all$term)
out(all, "glm_reference.csv")

# Mantel-Haenszel (epiR::epi.2by2, stats::mantelhaen.test without continuity correction)
mh <- list()
mh_rows <- function(data_name, exposure, tab) {
  e <- epi.2by2(tab, method = "cohort.count")$massoc.detail
  m <- mantelhaen.test(tab, correct = FALSE)
  data.frame(data = data_name, exposure = exposure,
    measure = c("risk_ratio", "odds_ratio", "risk_difference"),
    estimate = c(e$RR.mh.wald$est, e$OR.mh.wald$est, e$ARisk.mh.wald$est / 100),
    ci_lower = c(e$RR.mh.wald$lower, e$OR.mh.wald$lower, e$ARisk.mh.wald$lower / 100),
    ci_upper = c(e$RR.mh.wald$upper, e$OR.mh.wald$upper, e$ARisk.mh.wald$upper / 100),
    p = c(m$p.value, m$p.value, m$p.value),
    mh_chi2 = as.numeric(m$statistic), mh_or_stats = as.numeric(m$estimate),
    mh_or_lower_stats = m$conf.int[1], mh_or_upper_stats = m$conf.int[2],
    homogeneity = c("woolf", "breslow-day", NA),
    homogeneity_stat = c(e$wRR.homog$test.statistic, e$bOR.homog$test.statistic, NA),
    homogeneity_df = c(e$wRR.homog$df, e$bOR.homog$df, NA),
    homogeneity_p = c(e$wRR.homog$p.value, e$bOR.homog$p.value, NA),
    woolf_or_stat = e$wOR.homog$test.statistic, woolf_or_p = e$wOR.homog$p.value)
}
strat <- function(exp, out, s) {  # epiR layout: [exposed+, exposed-] x [outcome+, outcome-] x strata
  ok <- !is.na(exp) & !is.na(out) & !is.na(s)  # complete cases
  exp <- exp[ok]; out <- out[ok]; s <- s[ok]
  lv <- sort(unique(s), method = "radix")
  arr <- array(0, c(2, 2, length(lv)))
  for (k in seq_along(lv)) {
    i <- s == lv[k]
    arr[, , k] <- matrix(c(sum(exp[i] == 1 & out[i] == 1), sum(exp[i] == 0 & out[i] == 1),
                           sum(exp[i] == 1 & out[i] == 0), sum(exp[i] == 0 & out[i] == 0)), 2, 2)
  }
  as.table(arr)
}
mh[[1]] <- mh_rows("wcgs", "dibpat0", strat(wcgs$dibpat0, wcgs$chd69, wcgs$agegrp))
mh[[2]] <- mh_rows("wcgs", "smoker", strat(wcgs$smoker, wcgs$chd69, wcgs$agegrp))
data(oswego)
yn <- function(x) as.integer(x == "Y")
mh[[3]] <- mh_rows("oswego", "vanilla.ice.cream", strat(yn(oswego$vanilla.ice.cream), yn(oswego$ill), oswego$sex))
mh[[4]] <- mh_rows("oswego", "chocolate.ice.cream", strat(yn(oswego$chocolate.ice.cream), yn(oswego$ill), oswego$sex))
out(do.call(rbind, mh), "mh_reference.csv")

v <- c(R = R.version.string, epitools = as.character(packageVersion("epitools")),
       epiR = as.character(packageVersion("epiR")), MASS = as.character(packageVersion("MASS")))
writeLines(paste(names(v), v, sep = ": "), "versions.txt")
