# Reference outputs of R survival for biolake's survival tests (precision risk survival).
#
# Not run in CI. Regenerate (Debian: apt-get install r-cran-survival) from the
# repository root with
#
#     Rscript tests/data/reference/precision/make_survival_reference.R
#
# Data: the lung, veteran and pbc data sets bundled with R survival (LGPL >= 2, which
# permits redistributing them with that notice; see tests/data/precision/survival/README.md)
# are written unchanged (except that veteran's celltype is written as text) to
# tests/data/precision/survival/{lung,veteran,pbc}.csv. Missing values are empty fields.
#
# References (numbers as %.17g, NA as "NA"), in tests/data/precision/survival/:
#   cox_reference.csv     case, term, coef, se, robust_se, z, p, loglik, iter
#                         coxph(..., ties = "efron", robust = TRUE): se = sqrt(diag(naive.var)),
#                         robust_se = sqrt(diag(var)), z = coef / se, p = 2 * pnorm(-|z|)
#   km_reference.csv      case, group, time, n_risk, n_event, survival, std_err, ci_lower, ci_upper
#                         summary(survfit(...)) (conf.type "log", conf.int 0.95): event times only
#   logrank_reference.csv case, chisq, df, p     survdiff(...)
#   zph_reference.csv     case, term, chisq, df, p      cox.zph(fit) (transform "km", terms, global)
#   concordance_reference.csv  case, concordance, concordant, discordant, tied_x, tied_y, tied_xy
#                         concordance(fit) for each Cox case; lung_age: concordance(Surv(time, status) ~ age)
suppressPackageStartupMessages(library(survival))

out_dir <- file.path("tests", "data", "precision", "survival")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

lung_df <- survival::lung
vet_df <- survival::veteran
vet_df$celltype <- as.character(vet_df$celltype)
pbc_df <- survival::pbc
pbc_df$sex <- as.character(pbc_df$sex)
write.csv(lung_df, file.path(out_dir, "lung.csv"), row.names = FALSE, na = "")
write.csv(vet_df, file.path(out_dir, "veteran.csv"), row.names = FALSE, na = "")
write.csv(pbc_df, file.path(out_dir, "pbc.csv"), row.names = FALSE, na = "")

# read back what the tests read (text covariates become factors with sorted levels,
# the first sorted level being the baseline, as biolake codes them)
lung <- read.csv(file.path(out_dir, "lung.csv"))
veteran <- read.csv(file.path(out_dir, "veteran.csv"))
veteran$celltype <- factor(veteran$celltype, levels = sort(unique(veteran$celltype)))
pbc <- read.csv(file.path(out_dir, "pbc.csv"))
pbc$sex <- factor(pbc$sex, levels = sort(unique(pbc$sex)))
pbc$dead <- as.integer(pbc$status == 2)
lung$ecog_text <- factor(as.character(lung$ph.ecog))

cox_cases <- list(
  lung_basic = list(data = lung, f = Surv(time, status) ~ age + sex + ph.ecog),
  lung_many = list(data = lung, f = Surv(time, status) ~ age + sex + ph.ecog + ph.karno + pat.karno + meal.cal + wt.loss),
  lung_factor = list(data = lung, f = Surv(time, status) ~ age + sex + ecog_text),
  veteran_all = list(data = veteran, f = Surv(time, status) ~ trt + celltype + karno + diagtime + age + prior),
  veteran_karno = list(data = veteran, f = Surv(time, status) ~ karno),
  pbc_main = list(data = pbc, f = Surv(time, dead) ~ age + sex + bili + albumin + protime + edema + stage),
  pbc_trt = list(data = pbc, f = Surv(time, dead) ~ trt + age + log(bili))
)
pbc$log_bili <- log(pbc$bili)
cox_cases$pbc_trt <- list(data = pbc, f = Surv(time, dead) ~ trt + age + log_bili)

cox_rows <- list()
zph_rows <- list()
conc_rows <- list()
conc_row <- function(name, cc) {
  data.frame(case = name, concordance = num(cc$concordance), concordant = cc$count[["concordant"]],
             discordant = cc$count[["discordant"]], tied_x = cc$count[["tied.x"]],
             tied_y = cc$count[["tied.y"]], tied_xy = cc$count[["tied.xy"]])
}
for (name in names(cox_cases)) {
  case <- cox_cases[[name]]
  fit <- coxph(case$f, data = case$data, ties = "efron", robust = TRUE)
  coef <- fit$coefficients
  se <- sqrt(diag(fit$naive.var))
  rse <- sqrt(diag(fit$var))
  z <- coef / se
  cox_rows[[name]] <- data.frame(
    case = name, term = names(coef), coef = num(coef), se = num(se), robust_se = num(rse),
    z = num(z), p = num(2 * pnorm(-abs(z))), loglik = num(fit$loglik[2]), iter = fit$iter,
    n = fit$n, nevent = fit$nevent)
  fit0 <- coxph(case$f, data = case$data, ties = "efron")
  conc_rows[[name]] <- conc_row(name, concordance(fit0))
  zt <- cox.zph(fit0)$table
  zph_rows[[name]] <- data.frame(case = name, term = rownames(zt), chisq = num(zt[, "chisq"]),
                                 df = zt[, "df"], p = num(zt[, "p"]))
}
write.csv(do.call(rbind, cox_rows), file.path(out_dir, "cox_reference.csv"), row.names = FALSE)
write.csv(do.call(rbind, zph_rows), file.path(out_dir, "zph_reference.csv"), row.names = FALSE)
conc_rows[["lung_age"]] <- conc_row("lung_age", concordance(Surv(time, status) ~ age, data = lung))
write.csv(do.call(rbind, conc_rows), file.path(out_dir, "concordance_reference.csv"), row.names = FALSE)

km_cases <- list(
  lung_all = list(data = lung, f = Surv(time, status) ~ 1),
  lung_sex = list(data = lung, f = Surv(time, status) ~ sex),
  lung_ecog = list(data = lung, f = Surv(time, status) ~ ph.ecog),
  veteran_celltype = list(data = veteran, f = Surv(time, status) ~ celltype),
  veteran_trt = list(data = veteran, f = Surv(time, status) ~ trt),
  pbc_trt = list(data = pbc, f = Surv(time, dead) ~ trt),
  pbc_stage = list(data = pbc, f = Surv(time, dead) ~ stage)
)
km_rows <- list()
lr_rows <- list()
for (name in names(km_cases)) {
  case <- km_cases[[name]]
  s <- summary(survfit(case$f, data = case$data))
  group <- if (is.null(s$strata)) rep("all", length(s$time)) else sub("^[^=]*=", "", as.character(s$strata))
  km_rows[[name]] <- data.frame(
    case = name, group = group, time = num(s$time), n_risk = s$n.risk, n_event = s$n.event,
    survival = num(s$surv), std_err = num(s$std.err), ci_lower = num(s$lower), ci_upper = num(s$upper))
  if (length(all.vars(case$f)) > 2) {
    d <- survdiff(case$f, data = case$data)
    df <- sum(d$exp > 0) - 1
    lr_rows[[name]] <- data.frame(case = name, chisq = num(d$chisq), df = df,
                                  p = num(pchisq(d$chisq, df, lower.tail = FALSE)))
  }
}
write.csv(do.call(rbind, km_rows), file.path(out_dir, "km_reference.csv"), row.names = FALSE)
write.csv(do.call(rbind, lr_rows), file.path(out_dir, "logrank_reference.csv"), row.names = FALSE)

writeLines(c(R.version.string, paste("survival", packageVersion("survival"))),
           file.path(out_dir, "reference_versions.txt"))
