# Reference outputs for tests/publichealth/test_rates*.py (run here, not in CI):
#   cd tests/data/publichealth/rates && Rscript make_rates_reference.R
# Data: the help-page examples of epitools::ageadjust.direct (Fleiss 1981, p. 249: births by
# maternal age and birth order; standard = mean population over birth orders 1-4 and 5+,
# as Fay & Feuer 1997 Table 1) and epitools::ageadjust.indirect (Selvin 2004: US deaths
# 1940, standard = US 1960), and epitools' oswego data set (2x2 tables).
suppressMessages({library(epitools); library(epiR)})
num <- function(df) { for (n in names(df)) if (is.numeric(df[[n]])) df[[n]] <- ifelse(is.na(df[[n]]), NA, sprintf("%.17g", df[[n]])); df }
out <- function(df, file) write.csv(num(df), file, row.names = FALSE, quote = TRUE, na = "")

ages <- c("Under 20", "20-24", "25-29", "30-34", "35-39", "40 and over")
population <- matrix(c(230061, 329449, 114920, 39487, 14208, 3052,
  72202, 326701, 208667, 83228, 28466, 5375, 15050, 175702,
  207081, 117300, 45026, 8660, 2293, 68800, 132424, 98301,
  46075, 9834, 327, 30666, 123419, 149919, 104088, 34392,
  319933, 931318, 786511, 488235, 237863, 61313), 6, 6)
count <- matrix(c(107, 141, 60, 40, 39, 25, 25, 150, 110, 84, 82, 39,
  3, 71, 114, 103, 108, 75, 1, 26, 64, 89, 137, 96, 0, 8, 63, 112,
  262, 295, 136, 396, 411, 428, 628, 530), 6, 6)
orders <- c("1", "2", "3", "4", "5+")
standard <- apply(population[, -6], 1, mean)
births <- data.frame(birth_order = rep(orders, each = 6), age_group = rep(ages, 5),
                     count = as.vector(count[, 1:5]), population = as.vector(population[, 1:5]))
out(births, "fleiss_births.csv")
out(data.frame(age_group = ages, population = standard), "fleiss_standard.csv")

direct <- do.call(rbind, lapply(1:5, function(j) {
  r <- ageadjust.direct(count[, j], population[, j], stdpop = standard)
  r90 <- ageadjust.direct(count[, j], population[, j], stdpop = standard, conf.level = 0.90)
  data.frame(birth_order = orders[j], count = sum(count[, j]), population = sum(population[, j]),
             crude_rate = r[["crude.rate"]], adj_rate = r[["adj.rate"]], ci_lower = r[["lci"]], ci_upper = r[["uci"]],
             ci_lower_90 = r90[["lci"]], ci_upper_90 = r90[["uci"]])
}))
out(direct, "fleiss_direct_reference.csv")

# crude rates: exact Poisson CI (poisson.test = Garwood; epitools::pois.exact finds the same
# roots with uniroot's default tolerance, kept for comparison)
crude <- do.call(rbind, lapply(1:5, function(j) {
  x <- sum(count[, j]); pt <- sum(population[, j])
  ci <- poisson.test(x, pt)$conf.int
  pe <- pois.exact(x, pt)
  data.frame(birth_order = orders[j], count = x, population = pt, rate = x / pt,
             ci_lower = ci[1], ci_upper = ci[2], pois_exact_lower = pe$lower, pois_exact_upper = pe$upper)
}))
out(crude, "fleiss_crude_reference.csv")

dth60 <- c(141, 926, 1253, 1080, 1869, 4891, 14956, 30888, 41725, 26501, 5928)
pop60 <- c(1784033, 7065148, 15658730, 10482916, 9939972, 10563872, 9114202, 6850263, 4702482, 1874619, 330915)
dth40 <- c(45, 201, 320, 670, 1126, 3160, 9723, 17935, 22179, 13461, 2238)
pop40 <- c(906897, 3794573, 10003544, 10629526, 9465330, 8249558, 7294330, 5022499, 2920220, 1019504, 142532)
agelabs <- c("<1", "1-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+")
out(data.frame(age_group = agelabs, deaths = dth40, population = pop40), "selvin_us1940.csv")
out(data.frame(age_group = agelabs, population = pop60, count = dth60), "selvin_us1960_standard.csv")
dsr <- ageadjust.direct(count = dth40, pop = pop40, stdpop = pop60)
isr <- ageadjust.indirect(count = dth40, pop = pop40, stdcount = dth60, stdpop = pop60)
ex <- poisson.test(sum(dth40), isr$sir[["exp"]])$conf.int
out(data.frame(
  crude_rate = dsr[["crude.rate"]], adj_rate = dsr[["adj.rate"]], ci_lower = dsr[["lci"]], ci_upper = dsr[["uci"]],
  observed = isr$sir[["observed"]], expected = isr$sir[["exp"]], smr = isr$sir[["sir"]],
  smr_lower_lognormal = isr$sir[["lci"]], smr_upper_lognormal = isr$sir[["uci"]],
  ind_adj_rate = isr$rate[["adj.rate"]], ind_lower_lognormal = isr$rate[["lci"]], ind_upper_lognormal = isr$rate[["uci"]],
  smr_lower_exact = ex[1], smr_upper_exact = ex[2]), "selvin_reference.csv")

# 2x2 tables: oswego, ill by food, stratified by sex
data(oswego)
keep <- c("id", "age", "sex", "ill", "baked.ham", "spinach", "vanilla.ice.cream", "chocolate.ice.cream", "fruit.salad")
out(oswego[, keep], "oswego.csv")
# or.midp with uniroot to 1e-13 instead of uniroot's default tolerance (eps^0.25 = 1.2e-4)
or_midp_tight <- function(a1, a0, b1, b0, conf.level = 0.95, interval = c(0, 1000)) {
  x <- matrix(c(a1, a0, b1, b0), 2, 2, byrow = TRUE)
  mue <- function(or) fisher.test(x, or = or, alternative = "l")$p - fisher.test(x, or = or, alternative = "g")$p
  midp <- function(or) 0.5 * (fisher.test(x, or = or, alternative = "l")$p.val -
                              fisher.test(x, or = or, alternative = "g")$p.val + 1)
  alpha <- 1 - conf.level
  c(uniroot(mue, interval, tol = 1e-13)$root,
    uniroot(function(or) 1 - midp(or) - alpha / 2, interval, tol = 1e-13)$root,
    1 / uniroot(function(or) midp(1 / or) - alpha / 2, interval, tol = 1e-13)$root)
}
rows <- list()
add <- function(...) rows[[length(rows) + 1]] <<- data.frame(...)
for (food in c("vanilla.ice.cream", "chocolate.ice.cream", "spinach", "baked.ham", "fruit.salad")) {
  for (s in c("crude", "F", "M")) {
    d <- if (s == "crude") oswego else oswego[oswego$sex == s, ]
    tab <- table(factor(d[[food]], levels = c("N", "Y")), factor(d$ill, levels = c("N", "Y")))
    a <- tab[2, 2]; b <- tab[2, 1]; c <- tab[1, 2]; dd <- tab[1, 1]
    rr <- riskratio(tab, method = "wald")
    orw <- oddsratio(tab, method = "wald")
    if (min(tab) == 0) next  # zero cells: tested separately (the estimates are 0 or Inf)
    orm <- oddsratio(tab)  # default method: midp
    tight <- or_midp_tight(a, c, b, dd)
    e2 <- epi.2by2(as.table(matrix(c(a, c, b, dd), 2, 2)), method = "cohort.count")
    rd <- e2$massoc.detail$ARisk.strata.wald
    base <- list(exposure = food, stratum = s, a = a, b = b, c = c, d = dd)
    add(base, measure = "risk_ratio", method = "wald", estimate = rr$measure[2, 1], ci_lower = rr$measure[2, 2],
        ci_upper = rr$measure[2, 3], p = rr$p.value[2, "chi.square"])
    add(base, measure = "odds_ratio", method = "wald", estimate = orw$measure[2, 1], ci_lower = orw$measure[2, 2],
        ci_upper = orw$measure[2, 3], p = orw$p.value[2, "chi.square"])
    add(base, measure = "odds_ratio", method = "midp", estimate = tight[1], ci_lower = tight[2], ci_upper = tight[3],
        p = orm$p.value[2, "midp.exact"])
    add(base, measure = "odds_ratio", method = "midp_epitools_uniroot", estimate = orm$measure[2, 1],
        ci_lower = orm$measure[2, 2], ci_upper = orm$measure[2, 3], p = orm$p.value[2, "fisher.exact"])
    add(base, measure = "risk_difference", method = "wald", estimate = rd$est / 100, ci_lower = rd$lower / 100,
        ci_upper = rd$upper / 100, p = NA)
  }
}
out(do.call(rbind, rows), "oswego_2x2_reference.csv")

v <- c(R = R.version.string, epitools = as.character(packageVersion("epitools")),
       epiR = as.character(packageVersion("epiR")))
writeLines(paste(names(v), v, sep = ": "), "versions.txt")
