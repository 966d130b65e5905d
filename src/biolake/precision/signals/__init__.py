"""Pharmacovigilance signal detection: ``biolake precision signals``.

* :mod:`~biolake.precision.signals.faers` — FAERS quarterly extracts and openEBGM's long
  layout into DuckDB (latest case version, drug names, roles, strata);
* :mod:`~biolake.precision.signals.counts` — unique-report counts and expected counts per pair;
* :mod:`~biolake.precision.signals.disproportionality` — PRR, ROR, IC, vectorized;
* :mod:`~biolake.precision.signals.mgps` — the gamma-Poisson shrinker (EBGM, EB05, EB95);
* :mod:`~biolake.precision.signals.job` — all of it for every pair, and as a lake run.
"""

from biolake.precision.signals.job import SIGNAL_COLUMNS, signals, signals_job

__all__ = ["SIGNAL_COLUMNS", "signals", "signals_job"]
