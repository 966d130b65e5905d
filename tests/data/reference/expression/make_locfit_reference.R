#!/usr/bin/env Rscript
# Reference outputs of R locfit (the local regression DESeq2's fitType = "local" uses):
#   fit <- locfit(y ~ x, data = d, weights = w); predict(fit, data.frame(x = xn))
# Not run in CI. Regenerate with (Debian: apt-get install r-cran-locfit):
#   Rscript tests/data/reference/expression/make_locfit_reference.R tests/data/expression/locfit
# Writes caseN_data.csv.gz (x, y, w) and caseN_pred.csv.gz (x, p) with 17 significant digits.
suppressPackageStartupMessages(library(locfit))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "tests/data/expression/locfit"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(df, name) {
  df[] <- lapply(df, function(col) sprintf("%.17g", col))
  f <- gzfile(file.path(out, name), "w")
  write.csv(df, f, row.names = FALSE, quote = FALSE)
  close(f)
}
set.seed(3)
cases <- list(
  list(n = 50, sorted = FALSE, ties = FALSE),
  list(n = 1000, sorted = FALSE, ties = FALSE),
  list(n = 37, sorted = FALSE, ties = FALSE),
  list(n = 300, sorted = TRUE, ties = FALSE),   # ordered x: locfit's nbhd1 path
  list(n = 200, sorted = FALSE, ties = TRUE)    # tied x values
)
for (i in seq_along(cases)) {
  cs <- cases[[i]]
  x <- rnorm(cs$n, 3, 2)
  if (cs$ties) x <- round(x, 1)
  if (cs$sorted) x <- sort(x)
  y <- 0.3 * sin(x) + rnorm(cs$n, 0, 0.5) - 0.1 * x
  w <- exp(x)
  fit <- locfit(y ~ x, data = data.frame(x = x, y = y), weights = w)
  xn <- seq(min(x) - 1, max(x) + 1, length.out = 400)
  wcsv(data.frame(x = x, y = y, w = w), sprintf("case%d_data.csv.gz", i))
  wcsv(data.frame(x = xn, p = predict(fit, data.frame(x = xn))), sprintf("case%d_pred.csv.gz", i))
}
writeLines(c(paste("locfit", packageVersion("locfit")), R.version.string), file.path(out, "versions.txt"))
