# Reference outputs of R surveillance::farringtonFlexible for biolake's tests.
# Run from this directory:  Rscript make_farrington_reference.R  (about 15 min; each run is cached in
# /tmp/farrington_parts, delete it to recompute)
# Writes counts_*.csv.gz (the inputs, long format) and reference.csv.gz (R's outputs),
# and versions.txt. Not run in CI.
suppressMessages(library(surveillance))
options(warn = 1)
set.seed(20261127)

long_counts <- function(s, name, dates) {
  obs <- observed(s); pop <- population(s)
  series <- if (is.null(colnames(obs))) paste0("s", seq_len(ncol(obs))) else colnames(obs)
  out <- do.call(rbind, lapply(seq_len(ncol(obs)), function(j) data.frame(
    series = series[j], t = seq_len(nrow(obs)), count = obs[, j], population = pop[, j])))
  if (dates) out$date <- rep(format(as.Date(s@epoch, origin = "1970-01-01")), ncol(obs))
  out
}

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

dir.create("/tmp/farrington_parts", showWarnings = FALSE)
run <- function(config, data, s, control) {
  part <- sprintf("/tmp/farrington_parts/%s_%s.rds", data, config)
  if (file.exists(part)) return(readRDS(part))
  t0 <- proc.time()[["elapsed"]]
  r <- farringtonFlexible(s, control = control)
  el <- proc.time()[["elapsed"]] - t0
  obs <- observed(r)
  series <- if (is.null(colnames(obs))) paste0("s", seq_len(ncol(obs))) else colnames(obs)
  b <- if (is.null(control[["b"]])) 5 else control[["b"]]
  w <- if (is.null(control[["w"]])) 3 else control[["w"]]
  rng <- if (is.null(control[["range"]])) (s@freq * b + w + 1):nrow(s) else control[["range"]]
  cat(sprintf("%-28s %6d series-weeks  %.3f ms each\n", config, length(obs), 1000 * el / length(obs)))
  out <- do.call(rbind, lapply(seq_len(ncol(obs)), function(j) data.frame(
    config = config, data = data, series = series[j], t = rng, observed = obs[, j],
    upperbound = num(upperbound(r)[, j]), alarm = ifelse(is.na(alarms(r)[, j]), "NA", alarms(r)[, j]),
    expected = num(r@control$expected[, j]), score = num(r@control$score[, j]),
    pvalue = num(r@control$pvalue[, j]), phi = num(r@control$phiVector[, j]),
    trend = num(r@control$trendVector[, j]))))
  saveRDS(out, part)
  out
}

inputs <- list()
refs <- list()

# 1. salmNewport: 6 of its 16 date-indexed weekly series (Mondays), 528 weeks
data(salmNewport)
salm <- salmNewport[, 1:6]
inputs$salmNewport <- long_counts(salm, "salmNewport", TRUE)
refs$a <- run("default", "salmNewport", salm, list())
refs$b <- run("nbPlugin", "salmNewport", salm, list(thresholdMethod = "nbPlugin"))
refs$c <- run("muan", "salmNewport", salm, list(thresholdMethod = "muan"))
refs$d <- run("noufaily", "salmNewport", salm[, 1:3],
              list(noPeriods = 10, pastWeeksNotIncluded = 26, thresholdMethod = "muan"))

# 2. momo: 8 date-indexed age groups with population, 782 weeks (last 80 monitored)
data(momo)
inputs$momo <- long_counts(momo, "momo", TRUE)
refs$e <- run("population", "momo", momo, list(populationOffset = TRUE, range = 703:782))
refs$f <- run("population_nb", "momo", momo,
              list(populationOffset = TRUE, thresholdMethod = "nbPlugin", noPeriods = 4, range = 703:782))

# 3. salmonella.agona: one series indexed by row number (R's epoch), 312 weeks
data(salmonella.agona)
agona <- disProg2sts(salmonella.agona)
agona@epochAsDate <- FALSE
inputs$agona <- long_counts(agona, "agona", FALSE)
refs$g <- run("default", "agona", agona, list())
refs$h <- run("sqrt_alpha01", "agona", agona, list(powertrans = "1/2", alpha = 0.01))
refs$i <- run("none_notrend", "agona", agona, list(powertrans = "none", trend = FALSE))
refs$j <- run("noreweight_b3w2", "agona", agona, list(reweight = FALSE, b = 3, w = 2))
refs$k <- run("periods_past", "agona", agona,
              list(noPeriods = 3, pastWeeksNotIncluded = 1, weightsThreshold = 1, pThresholdTrend = 1))
refs$l <- run("limit54", "agona", agona, list(limit54 = c(2, 3), b = 4, w = 1))

# 4. shadar: one series, row-indexed, 295 weeks
data(shadar)
shadar <- disProg2sts(shadar)
shadar@epochAsDate <- FALSE
inputs$shadar <- long_counts(shadar, "shadar", FALSE)
refs$m <- run("default", "shadar", shadar, list())

# 5. campyDE: one series of Monday dates, 522 weeks
data(campyDE)
campy <- sts(observed = campyDE$case, epoch = campyDE$date, epochAsDate = TRUE, frequency = 52)
inputs$campy <- long_counts(campy, "campy", TRUE)
refs$n <- run("default", "campy", campy, list())
refs$o <- run("muan_b3", "campy", campy, list(thresholdMethod = "muan", b = 3, noPeriods = 2))

# 6. fluBYBW: 6 of 140 row-indexed districts (many zeros), 416 weeks
data(fluBYBW)
flu <- fluBYBW[, 1:6]
inputs$flu <- long_counts(flu, "flu", FALSE)
refs$p <- run("default", "flu", flu, list())
refs$q <- run("nbPlugin_p10", "flu", flu, list(thresholdMethod = "nbPlugin", noPeriods = 10))

# 7. synthetic: 10 seasonal NB series (some sparse, one with an outbreak), Sunday dates
n <- 330
tt <- seq_len(n)
syn <- sapply(1:10, function(j) {
  mu <- exp(log(c(0.3, 1, 2, 5, 10, 20, 50, 3, 0.8, 100)[j]) + 0.5 * sin(2 * pi * tt / 52) + 0.002 * j * tt / 52)
  x <- rnbinom(n, mu = mu, size = c(1, 2, 5, 10, 50)[(j - 1) %% 5 + 1])
  if (j == 4) x[300:305] <- x[300:305] + c(5, 12, 20, 15, 8, 4)
  x
})
colnames(syn) <- sprintf("syn%02d", 1:10)
synth <- sts(observed = syn, epoch = as.numeric(as.Date("2019-01-06")) + 7 * (tt - 1), epochAsDate = TRUE,
             frequency = 52)
inputs$synth <- long_counts(synth, "synth", TRUE)
refs$r <- run("default", "synth", synth, list())
refs$s <- run("delta_p5_w2", "synth", synth, list(noPeriods = 5, w = 2, b = 4, pastWeeksNotIncluded = 4))

# 8. daily: 2 simulated daily series over a leap day (reference days by calendar year, freq 365)
set.seed(29022024)
nd <- 365 * 5 + 80
days <- as.numeric(as.Date("2019-01-01")) + seq_len(nd) - 1
dly <- sapply(c(4, 25), function(m) rpois(nd, m * exp(0.4 * sin(2 * pi * seq_len(nd) / 365))))
colnames(dly) <- c("d1", "d2")
daily <- sts(observed = dly, epoch = days, epochAsDate = TRUE, frequency = 365)
inputs$daily <- long_counts(daily, "daily", TRUE)
refs$t <- run("default", "daily", daily, list())

for (nm in names(inputs)) {
  con <- gzfile(sprintf("counts_%s.csv.gz", nm), "w")
  write.csv(inputs[[nm]], con, row.names = FALSE)
  close(con)
}
con <- gzfile("reference.csv.gz", "w")
write.csv(do.call(rbind, refs), con, row.names = FALSE)
close(con)
writeLines(c(R.version.string, paste("surveillance", packageVersion("surveillance"))), "versions.txt")
