"""FAERS-shaped synthetic reports with planted drug–event signals (demo, tests, benchmarks).

:func:`synthetic_reports` draws reports with a few drugs and events each (popularity by a
Zipf-like law, so a few drugs and events are common and most are rare, as in FAERS),
and raises the chance of chosen drug–event pairs. :func:`write_faers` writes them as
FAERS quarterly ``$``-delimited ``DEMO``/``DRUG``/``REAC`` files, with some cases
reported again in a later quarter under a higher ``caseversion``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biolake.errors import check_param

__all__ = ["SyntheticReports", "synthetic_reports", "write_faers"]


@dataclass
class SyntheticReports:
    """Reports as FAERS-like tables (``demo``, ``drug``, ``reac``) and the planted pairs."""

    demo: pd.DataFrame
    drug: pd.DataFrame
    reac: pd.DataFrame
    planted: list[tuple[str, str]]


def _zipf_weights(k: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


def synthetic_reports(
    *,
    reports: int = 3_000,
    drugs: int = 30,
    events: int = 40,
    planted: int = 4,
    strength: float = 0.35,
    seed: int = 20261127,
) -> SyntheticReports:
    """Reports naming 1–4 drugs (roles PS/SS/C) and 1–4 events, with ``planted`` signal pairs.

    Parameters
    ----------
    reports
        Number of cases.
    drugs, events
        Number of distinct drugs and events (names ``DRUG001`` …, ``EVENT001`` …).
    planted
        Number of planted pairs: a report with the pair's drug also names its event with
        probability ``strength``.
    strength
        See ``planted``.
    seed
        Random seed.

    Returns
    -------
    SyntheticReports
        The tables (FAERS column names) and the planted (drug, event) pairs.
    """
    check_param("synthetic_reports", "reports", reports, reports >= 1, "≥ 1")
    check_param("synthetic_reports", "planted", planted, 0 <= planted <= min(drugs, events), "≤ drugs and events")
    rng = np.random.default_rng(seed)
    drug_names = np.array([f"DRUG{i:03d}" for i in range(1, drugs + 1)])
    event_names = np.array([f"EVENT{i:03d}" for i in range(1, events + 1)])
    pid = np.arange(1, reports + 1) * 10 + 1
    n_drugs = rng.integers(1, 5, reports)
    n_events = rng.integers(1, 5, reports)
    d_id = np.repeat(pid, n_drugs)
    d_code = rng.choice(drugs, size=len(d_id), p=_zipf_weights(drugs, 0.9))
    roles = rng.choice(np.array(["PS", "SS", "C"]), size=len(d_id), p=[0.5, 0.3, 0.2])
    first = np.r_[True, d_id[1:] != d_id[:-1]]
    roles[first] = "PS"
    e_id = np.repeat(pid, n_events)
    # events depend on the report's primary suspect drug: each drug has its own event profile
    # (the common popularity times gamma noise), which gives the overdispersion of real data
    ps_code = d_code[first]
    e_code = np.empty(len(e_id), dtype=np.int64)
    report_of = np.repeat(np.arange(reports), n_events)
    base = _zipf_weights(events, 0.8)
    for code in np.unique(ps_code):
        rows = np.flatnonzero(ps_code[report_of] == code)
        profile = base * rng.gamma(0.7, 1 / 0.7, events)
        e_code[rows] = rng.choice(events, size=len(rows), p=profile / profile.sum())
    pairs = [(int(drugs - 1 - 2 * k) % drugs, int(events - 1 - 3 * k) % events) for k in range(planted)]
    extra_id, extra_code = [], []
    for dc, ec in pairs:
        having = np.unique(d_id[(d_code == dc) & (roles != "C")])
        hit = having[rng.random(len(having)) < strength]
        extra_id.append(hit)
        extra_code.append(np.full(len(hit), ec))
    e_id = np.concatenate([e_id, *extra_id])
    e_code = np.concatenate([e_code, *extra_code])
    order = np.argsort(e_id, kind="stable")
    drug = pd.DataFrame(
        {
            "primaryid": d_id,
            "caseid": d_id // 10,
            "drug_seq": np.concatenate([np.arange(1, k + 1) for k in n_drugs]),
            "role_cod": roles,
            "drugname": drug_names[d_code],
            "prod_ai": drug_names[d_code],
        }
    )
    reac = pd.DataFrame({"primaryid": e_id[order], "caseid": e_id[order] // 10, "pt": event_names[e_code[order]]})
    reac = reac.drop_duplicates(ignore_index=True)
    quarter = rng.integers(0, 8, reports)
    demo = pd.DataFrame(
        {
            "primaryid": pid,
            "caseid": pid // 10,
            "caseversion": 1,
            "i_f_code": "I",
            "fda_dt": [f"{2021 + q // 4}{(q % 4) * 3 + 1:02d}15" for q in quarter],
            "age": rng.integers(1, 95, reports),
            "age_cod": "YR",
            "sex": rng.choice(np.array(["F", "M", ""]), size=reports, p=[0.55, 0.4, 0.05]),
            "quarter": quarter,
        }
    )
    return SyntheticReports(demo, drug, reac, [(str(drug_names[d]), str(event_names[e])) for d, e in pairs])


def write_faers(
    data: SyntheticReports, folder: str | os.PathLike[str], *, follow_ups: float = 0.1, seed: int = 1
) -> Path:
    """Write the reports as FAERS quarterly ``$`` files (``DEMO21Q1.txt`` …) into ``folder``.

    A fraction ``follow_ups`` of the cases is reported again one quarter later as
    version 2 (a new ``primaryid``, one more event); deduplication must keep only that
    version.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    demo, drug, reac = data.demo.copy(), data.drug.copy(), data.reac.copy()
    follow = demo[(rng.random(len(demo)) < follow_ups) & (demo["quarter"] < 7)].copy()
    new_id = follow["primaryid"] + 5
    mapping = dict(zip(follow["primaryid"], new_id, strict=True))
    follow_demo = follow.assign(primaryid=new_id, caseversion=2, i_f_code="F", quarter=follow["quarter"] + 1)
    follow_demo["fda_dt"] = [f"{2021 + q // 4}{(q % 4) * 3 + 1:02d}20" for q in follow_demo["quarter"]]
    follow_drug = drug[drug["primaryid"].isin(mapping)].assign(primaryid=lambda d: d["primaryid"].map(mapping))
    follow_reac = reac[reac["primaryid"].isin(mapping)].assign(primaryid=lambda d: d["primaryid"].map(mapping))
    follow_reac = pd.concat(
        [follow_reac, pd.DataFrame({"primaryid": new_id, "caseid": follow["caseid"], "pt": "FOLLOW-UP EVENT"})]
    )
    demo = pd.concat([demo, follow_demo], ignore_index=True)
    drug = pd.concat([drug, follow_drug], ignore_index=True)
    reac = pd.concat([reac, follow_reac], ignore_index=True)
    q_of = dict(zip(demo["primaryid"], demo["quarter"], strict=True))
    for q in sorted(demo["quarter"].unique()):
        tag = f"{21 + q // 4}Q{q % 4 + 1}"
        for kind, table in (("DEMO", demo), ("DRUG", drug), ("REAC", reac)):
            part = table[table["primaryid"].map(q_of) == q].drop(columns=["quarter"], errors="ignore")
            lines = ["$".join(part.columns)]
            lines += ["$".join(map(str, row)) for row in part.itertuples(index=False)]
            (folder / f"{kind}{tag}.txt").write_text("\n".join(lines) + "\n", encoding="latin-1")
    return folder
