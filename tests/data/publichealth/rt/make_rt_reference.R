# Reference outputs of EpiEstim::estimate_R for biolake's `publichealth rt`.
#
# Run from this folder:  Rscript make_rt_reference.R
# Writes
#   incidence.csv     the inputs: case, series, day (1-based), date, local, imported
#                     (`imported` empty where the case gives EpiEstim a plain incidence vector)
#   si_<name>.csv     non-parametric serial interval distributions (header `w`, w_0 = 0, w_1, ...)
#   cases.csv         one row per case: method, SI, window / custom windows, priors, imported
#   rt_reference.csv  EpiEstim's R table for every case and series (NA left empty)
#   versions.txt      R and EpiEstim versions
suppressPackageStartupMessages(library(EpiEstim))

fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
inc_rows <- list(); ref_rows <- list(); case_rows <- list()

add_case <- function(case, method, mean_si = NA, std_si = NA, si_name = "", window = NA,
                     windows = "default", mean_prior = 5, std_prior = 5, imported = FALSE) {
  case_rows[[length(case_rows) + 1]] <<- data.frame(
    case = case, method = method, mean_si = fmt(mean_si), std_si = fmt(std_si), si_distr = si_name,
    window = ifelse(is.na(window), "", as.character(window)), windows = windows,
    mean_prior = fmt(mean_prior), std_prior = fmt(std_prior), imported = imported)
}

# run estimate_R on one series; `incid` is a vector (no imported) or a data frame local/imported
run_one <- function(case, series, incid, dates, method, mean_si, std_si, si_distr, t_start, t_end,
                    mean_prior, std_prior) {
  T <- if (is.data.frame(incid)) nrow(incid) else length(incid)
  args <- list(mean_prior = mean_prior, std_prior = std_prior)
  if (!is.null(t_start)) { args$t_start <- t_start; args$t_end <- t_end }
  if (method == "parametric_si") { args$mean_si <- mean_si; args$std_si <- std_si }
  else { args$si_distr <- si_distr }
  cfg <- do.call(make_config, args)
  res <- suppressWarnings(suppressMessages(estimate_R(incid, method = method, config = cfg)))
  R <- res$R
  ref_rows[[length(ref_rows) + 1]] <<- data.frame(
    case = case, series = series, t_start = R$t_start, t_end = R$t_end,
    mean_r = fmt(R[["Mean(R)"]]), std_r = fmt(R[["Std(R)"]]), q025 = fmt(R[["Quantile.0.025(R)"]]),
    q05 = fmt(R[["Quantile.0.05(R)"]]), q25 = fmt(R[["Quantile.0.25(R)"]]), median = fmt(R[["Median(R)"]]),
    q75 = fmt(R[["Quantile.0.75(R)"]]), q95 = fmt(R[["Quantile.0.95(R)"]]),
    q975 = fmt(R[["Quantile.0.975(R)"]]))
  if (is.data.frame(incid)) { loc <- incid$local; imp <- as.character(incid$imported) }
  else { loc <- incid; imp <- rep("", T) }
  inc_rows[[length(inc_rows) + 1]] <<- data.frame(
    case = case, series = series, day = seq_len(T),
    date = if (is.null(dates)) rep("", T) else format(dates, "%Y-%m-%d"), local = loc, imported = imp)
}

windows_for <- function(T, window) {
  if (is.na(window)) return(list(NULL, NULL))
  s <- seq(2, T - window + 1); list(s, s + window - 1)
}

write_si <- function(name, w) {
  write.csv(data.frame(w = fmt(w)), paste0("si_", name, ".csv"), row.names = FALSE, quote = FALSE)
}

single <- function(case, incid, dates = NULL, method, mean_si = NA, std_si = NA, si_name = "", si_distr = NULL,
                   window = NA, t_start = NULL, t_end = NULL, mean_prior = 5, std_prior = 5) {
  T <- if (is.data.frame(incid)) nrow(incid) else length(incid)
  windows <- "default"
  if (!is.null(t_start)) windows <- "custom"
  else if (!is.na(window)) { w <- windows_for(T, window); t_start <- w[[1]]; t_end <- w[[2]] }
  add_case(case, method, mean_si, std_si, si_name, window, windows, mean_prior, std_prior, is.data.frame(incid))
  run_one(case, "s1", incid, dates, method, mean_si, std_si, si_distr, t_start, t_end, mean_prior, std_prior)
}

data(Flu2009); data(Measles1861); data(SARS2003); data(MockRotavirus); data(Smallpox1972); data(Flu1918)
data(mers_2014_15)
write_si("flu2009", Flu2009$si_distr); write_si("measles1861", Measles1861$si_distr)
write_si("sars2003", SARS2003$si_distr); write_si("smallpox1972", Smallpox1972$si_distr)

flu <- Flu2009$incidence
single("flu2009_parametric", flu$I, flu$dates, "parametric_si", 2.6, 1.5)
single("flu2009_nonparametric", flu$I, flu$dates, "non_parametric_si", si_name = "flu2009", si_distr = Flu2009$si_distr)
single("flu2009_window3_prior", flu$I, flu$dates, "parametric_si", 2.6, 1.5, window = 3, mean_prior = 2, std_prior = 1)
single("measles1861_nonparametric", Measles1861$incidence, NULL, "non_parametric_si", si_name = "measles1861",
       si_distr = Measles1861$si_distr)
single("measles1861_parametric", Measles1861$incidence, NULL, "parametric_si", 11.7, 2.0)
single("sars2003_nonparametric", SARS2003$incidence, NULL, "non_parametric_si", si_name = "sars2003",
       si_distr = SARS2003$si_distr)
single("sars2003_parametric_window1", SARS2003$incidence, NULL, "parametric_si", 8.4, 3.8, window = 1)
single("rotavirus_parametric", MockRotavirus$incidence, NULL, "parametric_si", 3.4, 1.8)
Trot <- length(MockRotavirus$incidence)
single("rotavirus_custom_windows", MockRotavirus$incidence, NULL, "parametric_si", 3.4, 1.8,
       t_start = c(2, seq(5, Trot - 9, 9), 30), t_end = c(Trot, seq(13, Trot - 1, 9), 30))
single("smallpox1972_nonparametric", Smallpox1972$incidence, NULL, "non_parametric_si", si_name = "smallpox1972",
       si_distr = Smallpox1972$si_distr)
single("smallpox1972_parametric_window1", Smallpox1972$incidence, NULL, "parametric_si", 22.4, 6.1, window = 1)
single("flu1918_window14", Flu1918$incidence, NULL, "non_parametric_si", si_name = "flu2009",
       si_distr = Flu1918$si_distr, window = 14)
mers <- mers_2014_15$incidence
mers_inc <- data.frame(local = mers$local, imported = mers$imported)
single("mers_imported", mers_inc, mers[[1]], "parametric_si", mers_2014_15$si$mean_si, mers_2014_15$si$std_si)
single("mers_imported_nonparametric", mers_inc, mers[[1]], "non_parametric_si", si_name = "flu2009",
       si_distr = Flu2009$si_distr)

# synthetic multi-series table: renewal-process epidemics of different lengths, some with imported cases
set.seed(20261127)
w_syn <- discr_si(0:60, 4.8, 2.3)
simulate <- function(T, r0, imp_rate) {
  I <- numeric(T); imp <- rpois(T, imp_rate); I[1] <- 0; imp[1] <- max(imp[1], 1)
  R <- r0 * exp(-seq_len(T) / (T / 1.5))
  for (t in 2:T) {
    lam <- sum(w_syn[2:min(t, 61)] * (I + imp)[(t - 1):max(1, t - 60)])
    I[t] <- rpois(1, R[t] * lam)
  }
  data.frame(local = I, imported = imp)
}
n_series <- 40
lengths <- sample(c(9, 10, 15, 30, 60, 120, 200), n_series, replace = TRUE)
syn <- lapply(seq_len(n_series), function(i) simulate(lengths[i], runif(1, 0.7, 2.5),
                                                      ifelse(i %% 3 == 0, 0.5, 0)))
syn_dates <- lapply(seq_len(n_series), function(i) as.Date("2024-01-01") + (i %% 5) + seq_len(lengths[i]) - 1)
add_case("synthetic_parametric", "parametric_si", 4.8, 2.3, "", NA, "default", 5, 5, FALSE)
add_case("synthetic_nonparametric_imported", "non_parametric_si", NA, NA, "flu2009", NA, "default", 5, 5, TRUE)
add_case("synthetic_window10_prior", "parametric_si", 4.8, 2.3, "", 10, "default", 3, 2, TRUE)
for (i in seq_len(n_series)) {
  s <- syn[[i]]; name <- sprintf("syn%02d", i)
  total <- s$local + s$imported
  run_one("synthetic_parametric", name, total, syn_dates[[i]], "parametric_si", 4.8, 2.3, NULL, NULL, NULL, 5, 5)
  run_one("synthetic_nonparametric_imported", name, s, syn_dates[[i]], "non_parametric_si", NA, NA,
          Flu2009$si_distr, NULL, NULL, 5, 5)
  if (lengths[i] >= 11) {
    w <- windows_for(lengths[i], 10)
    run_one("synthetic_window10_prior", name, s, syn_dates[[i]], "parametric_si", 4.8, 2.3, NULL, w[[1]], w[[2]], 3, 2)
  }
}

write.csv(do.call(rbind, inc_rows), "incidence.csv", row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, ref_rows), "rt_reference.csv", row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, case_rows), "cases.csv", row.names = FALSE, quote = FALSE)
writeLines(c(R.version.string, paste("EpiEstim", packageVersion("EpiEstim"))), "versions.txt")
invisible(system("gzip -n -f incidence.csv rt_reference.csv"))
