# Reference outputs of R surveillance::earsC for biolake's EARS C1/C2/C3 tests.
#
# Not run in CI. Regenerate (Debian: apt-get install r-cran-surveillance) from the
# repository root with
#
#     Rscript tests/data/reference/publichealth/make_reference.R
#
# It simulates (fixed seed) weekly count series of different shapes, writes them to
# tests/data/publichealth/ears_counts.csv (long format: disease, region, date, count)
# and runs earsC on each series as a univariate sts object for every configuration in
# `configs`, writing tests/data/publichealth/ears_reference.csv.gz with one row per
# configuration, series and monitored time point:
#   config, disease, region, t (1-based row of the series), upperbound (%.17g), alarm.
suppressPackageStartupMessages(library(surveillance))

out_dir <- file.path("tests", "data", "publichealth")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
set.seed(20261127)

first_monday <- as.Date("2022-01-03")
series <- list()
add <- function(disease, region, counts, offset) {
  dates <- first_monday + 7 * (offset + seq_along(counts) - 1)
  series[[length(series) + 1]] <<- data.frame(
    disease = disease, region = region, date = format(dates, "%Y-%m-%d"),
    count = as.integer(counts), stringsAsFactors = FALSE)
}
seasonal <- function(n, level, amp, phase = 0) {
  t <- seq_len(n)
  rpois(n, exp(level + amp * sin(2 * pi * t / 52 + phase)))
}
with_outbreak <- function(x, at, size) {
  x[at] <- x[at] + rpois(length(at), size)
  x
}

regions <- sprintf("R%02d", 1:10)
for (i in seq_along(regions)) {
  n <- 60 + 4 * i                       # lengths differ: 64 ... 100 weeks
  offset <- i %% 4                      # and so do the first weeks
  # rare disease: low counts, many zeros, now and then a cluster
  add("legionella", regions[i], with_outbreak(rpois(n, 0.3), sample(20:n, 2), 4), offset)
  # seasonal disease with an outbreak injected on top
  flu <- with_outbreak(seasonal(n, 3 + i / 10, 1.2, phase = i / 3), sample(30:n, 3), 25)
  add("influenza", regions[i], flu, offset)
  # overdispersed medium counts, large counts in two regions
  mu <- if (i <= 2) 2500 else 40
  add("salmonella", regions[i], rnbinom(n, size = 5, mu = mu), offset)
}
# all-zero stretches (sigma = 0 in the baseline; C3 gives NaN there)
z <- rpois(80, 2); z[15:40] <- 0L; z[41] <- 3L
add("measles", "R01", z, 0)
z2 <- rep(0L, 50); z2[c(30, 31, 45)] <- c(1L, 2L, 1L)
add("measles", "R02", z2, 0)
# constant non-zero stretch, then a jump
z3 <- c(rep(5L, 25), 9L, rep(5L, 10), 12L, 13L, rpois(20, 5))
add("measles", "R03", z3, 2)
# a series too short for C3 with baseline 10 (only C1/C2 with baseline 7 monitor it)
add("measles", "R04", rpois(12, 3), 1)

counts <- do.call(rbind, series)
write.csv(counts, file.path(out_dir, "ears_counts.csv"), row.names = FALSE, quote = FALSE)

configs <- list(
  c1 = list(method = "C1"),
  c2 = list(method = "C2"),
  c3 = list(method = "C3"),                                   # R's C3 default alpha: 0.025
  c1_a01_b10 = list(method = "C1", alpha = 0.01, baseline = 10),
  c2_a01_b10 = list(method = "C2", alpha = 0.01, baseline = 10),
  c3_a001_b10 = list(method = "C3", alpha = 0.001, baseline = 10),
  c1_ms05 = list(method = "C1", minSigma = 0.5, baseline = 5, alpha = 0.05),
  c3_ms05 = list(method = "C3", minSigma = 0.5, baseline = 5, alpha = 0.05)
)
maxlag <- function(cfg) {
  b <- if (is.null(cfg$baseline)) 7 else cfg$baseline
  b + switch(cfg$method, C1 = 0, C2 = 2, C3 = 4)
}

rows <- list()
keys <- unique(counts[, c("disease", "region")])
for (k in seq_len(nrow(keys))) {
  one <- counts[counts$disease == keys$disease[k] & counts$region == keys$region[k], ]
  x <- one$count
  for (name in names(configs)) {
    cfg <- configs[[name]]
    if (length(x) <= maxlag(cfg)) next
    # earsC's C3 fails when it monitors a single time point (refVals[3, ] drops to a vector)
    if (cfg$method == "C3" && length(x) == maxlag(cfg) + 1) next
    s <- sts(observed = matrix(x, ncol = 1), start = c(2022, 1), frequency = 52)
    res <- earsC(s, control = cfg)
    n_out <- nrow(res@observed)
    t <- (length(x) - n_out + 1):length(x)
    ub <- as.vector(res@upperbound)
    al <- as.vector(res@alarm)
    rows[[length(rows) + 1]] <- data.frame(
      config = name, disease = keys$disease[k], region = keys$region[k], t = t,
      upperbound = ifelse(is.na(ub), "NA", sprintf("%.17g", ub)),
      alarm = ifelse(is.na(al), "NA", ifelse(al, "TRUE", "FALSE")),
      stringsAsFactors = FALSE)
  }
}
reference <- do.call(rbind, rows)
con <- gzfile(file.path(out_dir, "ears_reference.csv.gz"), "w")
write.csv(reference, con, row.names = FALSE, quote = FALSE)
close(con)

writeLines(c(
  sprintf("R %s, surveillance %s", getRversion(), packageVersion("surveillance")),
  sprintf("%d series, %d count rows, %d reference rows", nrow(keys), nrow(counts), nrow(reference))),
  file.path(out_dir, "ears_reference_versions.txt"))

# ---------------------------------------------------------------------------------------
# CUSUM: surveillance::cusum (algo.cusum) on the same series, monitored from `start` on
# (R needs control$range; m = NULL estimates m as the mean of the counts before it).
# Writes tests/data/publichealth/cusum_reference.csv.gz:
#   config, disease, region, t, upperbound (%.17g), alarm.
cusum_configs <- list(
  std = list(start = 27),                                            # k 1.04, h 2.26, standard
  rossi = list(start = 27, trans = "rossi"),
  rossi_k05_h4 = list(start = 15, trans = "rossi", k = 0.5, h = 4),
  std_m3 = list(start = 15, m = 3, k = 0.5, h = 3)
)
rows <- list()
for (k in seq_len(nrow(keys))) {
  one <- counts[counts$disease == keys$disease[k] & counts$region == keys$region[k], ]
  x <- one$count
  for (name in names(cusum_configs)) {
    cfg <- cusum_configs[[name]]
    if (length(x) < cfg$start) next
    control <- cfg[setdiff(names(cfg), "start")]
    control$range <- cfg$start:length(x)
    s <- sts(observed = matrix(x, ncol = 1), start = c(2022, 1), frequency = 52)
    res <- cusum(s, control = control)
    ub <- as.vector(res@upperbound)
    al <- as.vector(res@alarm)
    rows[[length(rows) + 1]] <- data.frame(
      config = name, disease = keys$disease[k], region = keys$region[k], t = control$range,
      upperbound = ifelse(is.na(ub), "NA", sprintf("%.17g", ub)),
      alarm = ifelse(is.na(al), "NA", ifelse(al, "TRUE", "FALSE")),
      stringsAsFactors = FALSE)
  }
}
reference <- do.call(rbind, rows)
con <- gzfile(file.path(out_dir, "cusum_reference.csv.gz"), "w")
write.csv(reference, con, row.names = FALSE, quote = FALSE)
close(con)
