# Reference outputs of R surveillance::algo.glrpois (the kernel of glrpois) for biolake's GLR tests.
#
# Not run in CI. Regenerate (Debian: apt-get install r-cran-surveillance) from the
# repository root with
#
#     Rscript tests/data/publichealth/glr/make_glr_reference.R
#
# Data: surveillance's bundled weekly series salmonella.agona (1 series), shadar (1),
# ha.sts (12 Berlin districts), salmNewport (16 German states), measlesDE (16 states),
# written to counts.csv.gz (data, series, t (1-based week), count).
# For every configuration in `configs` and every series, algo.glrpois runs twice (ret =
# "value" and ret = "cases") on range = first:n; reference.csv.gz has one row per
# configuration, series and monitored week: config, data, series, t, mu0 (control$mu0,
# %.17g), value (upperbound with ret = "value"), cases (upperbound with ret = "cases"),
# alarm (0/1; identical in both runs, checked here). For s2_trend only ret = "value" is run
# (cases empty): R's count-up search is too slow where the trend extrapolates to large means.
suppressPackageStartupMessages(library(surveillance))
out_dir <- file.path("tests", "data", "publichealth", "glr")

f17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
sets <- list()
add_sts <- function(name, s, first) {
  obs <- observed(s)
  if (is.null(colnames(obs))) colnames(obs) <- paste0("s", seq_len(ncol(obs)))
  for (j in seq_len(ncol(obs)))
    sets[[length(sets) + 1]] <<- list(data = name, series = colnames(obs)[j], x = as.integer(obs[, j]),
                                      freq = s@freq, first = first)
}
data("salmonella.agona"); add_sts("salmonella.agona", disProg2sts(salmonella.agona), 157)
data("shadar"); add_sts("shadar", disProg2sts(shadar), 105)
data("ha.sts"); add_sts("ha", ha.sts, 105)
data("salmNewport"); add_sts("salmNewport", salmNewport, 262)
data("measlesDE"); add_sts("measlesDE", measlesDE, 53)

counts <- do.call(rbind, lapply(sets, function(s)
  data.frame(data = s$data, series = s$series, t = seq_along(s$x), count = s$x, stringsAsFactors = FALSE)))
write.csv(counts, gzfile(file.path(out_dir, "counts.csv.gz")), row.names = FALSE, quote = FALSE)

configs <- list(
  default = list(),                                     # c.ARL 5, Mtilde 1, M -1, inc, mu0 from the Poisson hook (S = 1)
  carl3 = list(c.ARL = 3),
  window = list(M = 52, Mtilde = 1),
  window_mt2 = list(M = 26, Mtilde = 2, c.ARL = 4),
  dec = list(dir = "dec", c.ARL = 3),
  s2_trend = list(mu0 = list(S = 2, trend = TRUE)),
  mu0_const = list(mu0 = "const")                       # mu0 = a constant vector: the mean before the range
)

no_cases <- c("s2_trend")
only_data <- list(s2_trend = c("salmonella.agona", "shadar", "ha"))  # on the others R's mu0 fit overflows
rows <- list()
for (cfg_name in names(configs)) {
  for (s in sets) {
    if (!is.null(only_data[[cfg_name]]) && !(s$data %in% only_data[[cfg_name]])) next
    d <- create.disProg(week = seq_along(s$x), observed = s$x, state = rep(0, length(s$x)), freq = s$freq)
    n <- length(s$x)
    ctl <- configs[[cfg_name]]
    ctl$range <- s$first:n
    if (identical(ctl$mu0, "const")) ctl$mu0 <- rep(mean(s$x[1:(s$first - 1)]) + 0.5, length(ctl$range))
    run <- function(ret) {
      c2 <- ctl; c2$ret <- ret
      suppressMessages(algo.glrpois(d, control = c2))
    }
    message(cfg_name, " ", s$data, " ", s$series, " ", format(Sys.time()))
    rv <- run("value")
    # R finds the cases bound by counting up from 0: with a trend the extrapolated mu0 can be huge
    # (hours of counting), so that configuration is compared on the statistic and alarms only
    rc <- if (cfg_name %in% no_cases) list(upperbound = rep(NA_real_, length(ctl$range)), alarm = rv$alarm) else run("cases")
    stopifnot(identical(as.logical(rv$alarm), as.logical(rc$alarm)))
    rows[[length(rows) + 1]] <- data.frame(
      config = cfg_name, data = s$data, series = s$series, t = ctl$range,
      mu0 = f17(rv$control$mu0), value = f17(as.numeric(rv$upperbound)), cases = f17(as.numeric(rc$upperbound)),
      alarm = as.integer(as.logical(rv$alarm)), stringsAsFactors = FALSE)
  }
}
ref <- do.call(rbind, rows)
write.csv(ref, gzfile(file.path(out_dir, "reference.csv.gz")), row.names = FALSE, quote = FALSE)
writeLines(c(R.version.string, paste("surveillance", format(packageVersion("surveillance"))),
             sprintf("%d series, %d count rows, %d reference rows, %d alarms", length(sets), nrow(counts),
                     nrow(ref), sum(ref$alarm))),
           file.path(out_dir, "versions.txt"))
