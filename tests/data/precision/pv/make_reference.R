# Reference outputs of openEBGM 0.9.1 for biolake's MGPS/counting tests (run once, not in CI).
#
#   git clone https://github.com/cran/openEBGM /tmp/openEBGM   # commit 6e6885cc (0.9.1)
#   Rscript make_reference.R /tmp/openEBGM ../../../../../shared/data/pv/openEBGM/caers.csv
#
# Sources openEBGM's R/ files (GPL-2|GPL-3; only executed here, not copied into biolake)
# and writes openebgm_caers_reference.csv: every pair of caers.csv with N, E (unstratified),
# E_strat (stratified by strat1), EBGM/QUANT_05/QUANT_95 with the full-data autoHyper theta
# (digits = 6 instead of the default 2) and hyperparameters in openebgm_caers_theta.csv.
suppressMessages(library(data.table))
args <- commandArgs(trailingOnly = TRUE)
for (f in list.files(file.path(args[1], "R"), full.names = TRUE)) source(f)
caers <- read.csv(args[2], stringsAsFactors = FALSE)
processed <- processRaw(caers, stratify = FALSE, zeroes = FALSE)
strat <- processRaw(caers, stratify = TRUE, zeroes = FALSE)
theta_init <- data.frame(alpha1 = c(0.2, 0.1, 0.3, 0.5, 0.2),
                         beta1  = c(0.1, 0.1, 0.5, 0.3, 0.2),
                         alpha2 = c(2,   10,  6,   12,  5),
                         beta2  = c(4,   10,  6,   12,  5),
                         p      = c(1/3, 0.2, 0.5, 0.8, 0.4))
full <- autoHyper(processed, theta_init = theta_init, squashed = FALSE)
th <- full$estimates
nll <- negLL(th, processed$N, processed$E)
qn <- Qn(th, processed$N, processed$E)
out <- data.frame(var1 = as.character(processed$var1), var2 = as.character(processed$var2),
                  N = processed$N, E = processed$E)
m <- merge(out, data.frame(var1 = as.character(strat$var1), var2 = as.character(strat$var2), E_strat = strat$E),
           by = c("var1", "var2"), sort = FALSE)
out$E_strat <- m$E_strat[match(paste(out$var1, out$var2), paste(m$var1, m$var2))]
out$EBGM <- ebgm(th, processed$N, processed$E, qn, digits = 6)
out$QUANT_05 <- quantBisect(5, th, processed$N, processed$E, qn, digits = 6)
out$QUANT_95 <- quantBisect(95, th, processed$N, processed$E, qn, digits = 6)
write.csv(out, "openebgm_caers_reference.csv", row.names = FALSE)
write.csv(data.frame(alpha1 = th[1], beta1 = th[2], alpha2 = th[3], beta2 = th[4], P = th[5],
                     negLL = nll, method = full$method), "openebgm_caers_theta.csv", row.names = FALSE)
