# Export the real data sets that biolake ships for its public-health demo.
#
# Not run in CI. Regenerate (Debian: apt-get install r-cran-epiestim r-cran-surveillance)
# from the repository root with
#
#     Rscript tests/data/publichealth/realdata/make_realdata.R
#
# It writes the package copies into src/biolake/publichealth/data/ (values unchanged:
# counts as integers, probabilities with the shortest decimal form that reads back to
# the same double) and, beside this script, fingerprints.csv: for every exported
# column its length, sum, sum of squares and sum of (1-based index * value), computed
# in R on R's own objects. tests/publichealth/test_demo_realdata.py compares the shipped
# files with these fingerprints (always) and with R itself (when Rscript is installed).
suppressPackageStartupMessages({
  library(EpiEstim)
  library(surveillance)
})

pkg_dir <- file.path("src", "biolake", "publichealth", "data")
ref_dir <- file.path("tests", "data", "publichealth", "realdata")
dir.create(pkg_dir, showWarnings = FALSE, recursive = TRUE)

num <- function(x) {  # shortest of %.15g / %.16g / %.17g that reads back to the same double; NA as ""
  out <- sprintf("%.15g", x)
  ok <- !is.na(x)
  for (d in c(16, 17)) {
    bad <- ok & suppressWarnings(as.numeric(out)) != x
    out[bad] <- sprintf(paste0("%.", d, "g"), x[bad])
  }
  stopifnot(all(as.numeric(out[ok]) == x[ok]))
  out[!ok] <- ""
  out
}
ints <- function(x) {
  stopifnot(all(x == round(x)))
  sprintf("%d", as.integer(round(x)))
}
fingerprints <- list()
fp <- function(file, column, x) {
  x <- as.numeric(x)
  fingerprints[[length(fingerprints) + 1]] <<- data.frame(
    file = file, column = column, n = length(x), sum = num(sum(x)), sum_sq = num(sum(x^2)),
    sum_ix = num(sum(seq_along(x) * x)), stringsAsFactors = FALSE)
}
write_lines <- function(file, header, body) {
  writeLines(c(header, body), file.path(pkg_dir, file))
}

# EpiEstim: Flu2009 (daily incidence with dates + serial interval distribution)
data("Flu2009", package = "EpiEstim")
inc <- Flu2009$incidence
write_lines("flu2009_incidence.csv", "date,I", paste(format(inc$dates, "%Y-%m-%d"), ints(inc$I), sep = ","))
fp("flu2009_incidence.csv", "I", inc$I)
fp("flu2009_incidence.csv", "date", as.numeric(inc$dates))  # days since 1970-01-01
write_lines("flu2009_si_distr.csv", "w", num(Flu2009$si_distr))
fp("flu2009_si_distr.csv", "w", Flu2009$si_distr)

# EpiEstim: SARS2003 (daily incidence without dates + serial interval distribution)
data("SARS2003", package = "EpiEstim")
write_lines("sars2003_incidence.csv", "day,I", paste(seq_along(SARS2003$incidence), ints(SARS2003$incidence), sep = ","))
fp("sars2003_incidence.csv", "I", SARS2003$incidence)
write_lines("sars2003_si_distr.csv", "w", num(SARS2003$si_distr))
fp("sars2003_si_distr.csv", "w", SARS2003$si_distr)

# surveillance: salmNewport (weekly counts, 16 German federal states, 2004-2013), wide as R's observed matrix
data("salmNewport", package = "surveillance")
obs <- observed(salmNewport)
dates <- as.Date(epoch(salmNewport), origin = "1970-01-01")
body <- apply(cbind(format(dates, "%Y-%m-%d"), apply(obs, 2, ints)), 1, paste, collapse = ",")
write_lines("salmNewport.csv", paste(c("date", colnames(obs)), collapse = ","), body)
fp("salmNewport.csv", "date", as.numeric(dates))
for (j in colnames(obs)) fp("salmNewport.csv", j, obs[, j])

write.csv(do.call(rbind, fingerprints), file.path(ref_dir, "fingerprints.csv"), row.names = FALSE, quote = FALSE)
writeLines(c(R.version.string,
             paste("EpiEstim", format(packageVersion("EpiEstim")), "licence", packageDescription("EpiEstim")$License),
             paste("surveillance", format(packageVersion("surveillance")),
                   "licence", packageDescription("surveillance")$License)),
           file.path(ref_dir, "versions.txt"))

# What the demo computes, as R computes it on the same data (the demo's reference):
# farringtonFlexible with its defaults on every state of salmNewport (R's default range),
# and estimate_R (non_parametric_si, default weekly sliding windows, priors mean 5 sd 5)
# on Flu2009 and SARS2003 with their si_distr.
ff <- farringtonFlexible(salmNewport, control = list())
ff_dates <- as.Date(epoch(ff), origin = "1970-01-01")
ff_obs <- observed(ff)
ub <- upperbound(ff)
al <- alarms(ff)
rows <- list()
for (j in seq_len(ncol(obs))) {
  rows[[j]] <- data.frame(state = colnames(obs)[j], date = format(ff_dates, "%Y-%m-%d"),
                          count = ff_obs[, j], upperbound = num(ub[, j]), alarm = al[, j],
                          stringsAsFactors = FALSE)
}
write.csv(do.call(rbind, rows), gzfile(file.path(ref_dir, "salmNewport_farrington.csv.gz")),
          row.names = FALSE, quote = FALSE)

rt_rows <- list()
for (nm in c("flu2009", "sars2003")) {
  d <- if (nm == "flu2009") Flu2009 else SARS2003
  inc <- if (is.data.frame(d$incidence)) d$incidence$I else d$incidence
  res <- suppressWarnings(estimate_R(inc, method = "non_parametric_si",
                                     config = make_config(list(si_distr = d$si_distr))))
  r <- res$R
  rt_rows[[nm]] <- data.frame(data = nm, t_start = r$t_start, t_end = r$t_end,
                              mean_r = num(r$`Mean(R)`), std_r = num(r$`Std(R)`),
                              q025 = num(r$`Quantile.0.025(R)`), median = num(r$`Median(R)`),
                              q975 = num(r$`Quantile.0.975(R)`), stringsAsFactors = FALSE)
}
write.csv(do.call(rbind, rt_rows), file.path(ref_dir, "epiestim_rt.csv"), row.names = FALSE, quote = FALSE)
