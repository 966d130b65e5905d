"""Harrell's concordance index, as R ``survival::concordance`` (``timewt = "n"``).

A pair of subjects is comparable when the one with the shorter time had the event; a
subject censored at the time of another's event counts as having lived longer. Among the
comparable pairs, ``concordant`` ones have the higher risk score on the earlier event,
``discordant`` ones the lower, ``tied_x`` ones equal scores; ``concordance =
(concordant + tied_x / 2) / (concordant + discordant + tied_x)``. Pairs of events at the same
time are not comparable (``tied_y``; ``tied_xy`` when their scores are equal too). For a
Cox model the score is the linear predictor (R ``concordance(fit)``); for a predictor where
higher means longer survival use ``reverse=False`` (R ``concordance(Surv ~ x)``).

Counting is ``O(n log n)``: a Fenwick tree over the score ranks of the subjects still at
risk, filled from the latest time backwards.

Examples
--------
>>> import numpy as np
>>> c = concordance_index(np.array([1.0, 2, 3, 4]), np.array([1, 1, 0, 1]), np.array([4.0, 3, 1, 2]))
>>> c["concordance"], c["concordant"], c["discordant"]
(1.0, 5, 0)
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["concordance_index"]


@njit(cache=True, nogil=True)
def _count(time, event, rank, n_ranks):  # pragma: no cover - compiled
    n = len(time)
    tree = np.zeros(n_ranks + 1, dtype=np.int64)  # Fenwick tree of score ranks at risk
    total = 0
    concordant = 0
    discordant = 0
    tied_x = 0
    tied_y = 0
    tied_xy = 0
    last = -1
    i = n - 1  # rows sorted by time, then score: walk from the latest
    while i >= 0:
        j = i
        while j >= 0 and time[j] == time[i]:
            j -= 1
        # rows j+1 .. i share this time: censored ones join the risk set first
        for k in range(j + 1, i + 1):
            if not event[k]:
                r = rank[k] + 1
                while r <= n_ranks:
                    tree[r] += 1
                    r += r & (-r)
                total += 1
        for k in range(j + 1, i + 1):
            if event[k]:
                below = 0  # at-risk subjects with a lower score
                r = rank[k]
                while r > 0:
                    below += tree[r]
                    r -= r & (-r)
                upto = 0
                r = rank[k] + 1
                while r > 0:
                    upto += tree[r]
                    r -= r & (-r)
                equal = upto - below
                concordant += below
                discordant += total - upto
                tied_x += equal
        # event pairs at this time: tied on y, and on x too when their scores are equal
        # (the rows of one time are sorted by score, so equal scores are adjacent)
        deaths = 0
        run = 0
        for k in range(j + 1, i + 1):
            if event[k]:
                if run > 0 and rank[k] != last:
                    tied_xy += run * (run - 1) // 2
                    run = 0
                last = rank[k]
                run += 1
                deaths += 1
        tied_xy += run * (run - 1) // 2
        pairs = deaths * (deaths - 1) // 2
        tied_y += pairs
        for k in range(j + 1, i + 1):
            if event[k]:
                r = rank[k] + 1
                while r <= n_ranks:
                    tree[r] += 1
                    r += r & (-r)
                total += 1
        i = j
    return concordant, discordant, tied_x, tied_y - tied_xy, tied_xy


def concordance_index(
    time: np.ndarray, event: np.ndarray, score: np.ndarray, *, reverse: bool = True
) -> dict[str, float | int]:
    """Harrell's C and its pair counts (see the module docstring).

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored).
    score
        The predictor of each subject.
    reverse
        True (default): a higher score means a higher risk (a Cox linear predictor);
        False: a higher score means longer survival.

    Returns
    -------
    dict
        ``concordance``, ``concordant``, ``discordant``, ``tied_x``, ``tied_y``, ``tied_xy``.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(np.bool_)
    score = np.asarray(score, dtype=float)
    if not reverse:
        score = -score
    order = np.lexsort((score, time))
    uniq, rank = np.unique(score[order], return_inverse=True)
    c, d, tx, ty, txy = _count(time[order], event[order], rank.astype(np.int64).reshape(-1), len(uniq))
    comparable = c + d + tx
    return {
        "concordance": (c + tx / 2) / comparable if comparable else float("nan"),
        "concordant": int(c),
        "discordant": int(d),
        "tied_x": int(tx),
        "tied_y": int(ty),
        "tied_xy": int(txy),
    }
