"""Random survival forest with log-rank splitting (Ishwaran et al. 2008), grown as ranger grows it.

Published kernel
    Each tree is grown on a bootstrap sample (with replacement, as many draws as rows; or the
    rows without replacement). At a node, ``mtry`` candidate variables are drawn without
    replacement; for each, every cut between two consecutive distinct values is scored by the
    absolute standardised log-rank statistic of the two children (Ishwaran's notation,
    ranger's ``findBestSplitValueLogRank``)

        L = |Σ_t (d₁ₜ − Y₁ₜ dₜ/Yₜ)| / sqrt(Σ_t (Y₁ₜ/Yₜ)(1 − Y₁ₜ/Yₜ)(Yₜ − dₜ)/(Yₜ − 1) dₜ),

    summed over the node's event times with ``Yₜ ≥ 2`` (``Yₜ``, ``dₜ``: at risk and events in the
    node; ``Y₁ₜ``, ``d₁ₜ``: in the right child, values > cut). A cut is allowed when both
    children keep ≥ ``min_node_size`` samples; the best cut (first of equal ones) splits at the
    midpoint of the two values. A node is terminal when it has ≤ ``min_node_size`` samples,
    fewer than ``2 · min_node_size``, all samples share time and status, or no cut has a
    positive denominator. A terminal node keeps its Nelson–Aalen cumulative hazard
    ``H(t) = Σ_{s ≤ t} d_s / Y_s``; the forest's ``H`` is the mean over trees, ``S = exp(−H)``
    (ranger's ``predict``), and the ensemble mortality ``Σ_t H(t)`` over the training rows'
    distinct times is the risk score (ranger's and randomForestSRC's C-index use it).

Vectorised version
    The cut scan is O(m log m) per node and variable instead of ranger's O(m · T): with prefix
    sums ``A, B, C`` of ``dₜ/Yₜ``, ``wₜ/Yₜ`` and ``wₜ/Yₜ²`` (``wₜ = dₜ(Yₜ − dₜ)/(Yₜ − 1)``) over time,
    the numerator is ``D₁ − Σ_{j∈R} A(τⱼ)`` and the variance ``Σ_{j∈R} B(τⱼ) − Σ_{j,k∈R} C(min(τⱼ, τₖ))``;
    moving a sample from the right child to the left updates both, the pair sum through a
    Fenwick tree over the node's time ranks. Equal to the direct sum up to rounding (tested),
    so cuts equal within 1e-10 relative count as ties (the first is kept, as in ranger).

Chunk-wise application
    Trees are grown in parallel (numba ``prange``), each from its own seed, so the forest does
    not depend on the number of threads; leaves store their cumulative-hazard jumps only
    (event time index, increment), not a curve per leaf.

Reference: ``ranger(Surv(time, status) ~ ., splitrule = "logrank")`` 0.14.1 — a single tree
with ``mtry = p``, no resampling (``replace = FALSE, sample.fraction = 1``) is deterministic and
is compared leaf for leaf in ``tests/stats/test_rsf_ranger.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from biolake.errors import check_param

__all__ = ["SurvivalForest", "logrank_split_stat", "survival_forest"]

_TIE = 1e-10
_BLOCK = 16  # trees grown per parallel call (bounded scratch memory)


# ----------------------------------------------------------------------------- kernel
@numba.njit(cache=True)
def logrank_split_stat(tid: np.ndarray, status: np.ndarray, right: np.ndarray) -> float:  # pragma: no cover
    """The log-rank split statistic by ranger's direct sum (the reference for the fast scan).

    ``tid``: time ranks (0-based, ascending times), ``status`` 0/1, ``right``: membership of the
    right child. Returns −1 when the denominator is 0 (ranger's value for "no split").
    """
    t_max = 0
    for i in range(len(tid)):
        t_max = max(t_max, tid[i])
    n_t = t_max + 1
    at_risk = np.zeros(n_t + 1, np.int64)
    deaths = np.zeros(n_t, np.int64)
    d_right = np.zeros(n_t, np.int64)
    delta_right = np.zeros(n_t, np.int64)
    n_right = 0
    for i in range(len(tid)):
        at_risk[tid[i]] += 1
        if status[i] == 1:
            deaths[tid[i]] += 1
        if right[i]:
            n_right += 1
            delta_right[tid[i]] += 1
            if status[i] == 1:
                d_right[tid[i]] += 1
    for t in range(n_t - 1, -1, -1):
        at_risk[t] += at_risk[t + 1]
    num = 0.0
    den = 0.0
    y1 = n_right
    for t in range(n_t):
        if at_risk[t] < 2 or y1 < 1:
            break
        if deaths[t] > 0:
            di = float(deaths[t])
            yi = float(at_risk[t])
            yi1 = float(y1)
            num += d_right[t] - yi1 * (di / yi)
            den += (yi1 / yi) * (1.0 - yi1 / yi) * ((yi - di) / (yi - 1.0)) * di
        y1 -= delta_right[t]
    if den == 0.0:
        return -1.0
    return abs(num / math.sqrt(den))


@numba.njit(cache=True)
def _fenwick_add(tree: np.ndarray, i: int, v: float) -> None:  # pragma: no cover (numba)
    i += 1
    while i < len(tree):
        tree[i] += v
        i += i & (-i)


@numba.njit(cache=True)
def _fenwick_sum(tree: np.ndarray, i: int) -> float:  # pragma: no cover (numba)
    """Sum of positions < i."""
    s = 0.0
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


@numba.njit(cache=True)
def _best_cut(
    x: np.ndarray,
    rank: np.ndarray,
    status: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    valid: np.ndarray,
    q_all: float,
    min_node_size: int,
    best: float,
) -> tuple[float, float]:  # pragma: no cover (numba)
    """Best cut of one variable: (statistic, cut value); statistic ≤ ``best`` when none beats it.

    ``rank`` indexes the node's distinct times; ``a, b, c`` are the inclusive prefix sums of the
    per-time terms (0 beyond the last time with ≥ 2 at risk); ``valid[r]`` whether time ``r``
    enters the sums.
    """
    m = len(x)
    order = np.argsort(x, kind="mergesort")
    if x[order[0]] == x[order[m - 1]]:
        return best, 0.0
    n_ranks = len(a)
    cnt = np.zeros(n_ranks + 1)
    csum = np.zeros(n_ranks + 1)
    num = 0.0
    lin = 0.0
    for j in range(m):
        r = rank[j]
        if valid[r] and status[j] == 1:
            num += 1.0
        num -= a[r]
        lin += b[r]
        _fenwick_add(cnt, r, 1.0)
        _fenwick_add(csum, r, c[r])
    q = q_all
    n_right = m
    best_value = 0.0
    k = 0
    while k < m - 1:
        v = x[order[k]]
        # move the whole group of equal values to the left child
        while k < m and x[order[k]] == v:
            j = order[k]
            r = rank[j]
            below = _fenwick_sum(cnt, r)
            s = c[r] * (n_right - below) + _fenwick_sum(csum, r)
            q -= 2.0 * s - c[r]
            _fenwick_add(cnt, r, -1.0)
            _fenwick_add(csum, r, -c[r])
            if valid[r] and status[j] == 1:
                num -= 1.0
            num += a[r]
            lin -= b[r]
            n_right -= 1
            k += 1
        if k >= m:
            break
        n_left = m - n_right
        if n_left < min_node_size or n_right < min_node_size:
            continue
        den = lin - q
        if den <= 1e-12 * lin or den <= 0.0:
            continue
        stat = abs(num) / math.sqrt(den)
        if stat > best * (1.0 + _TIE) + 1e-300 or (best < 0.0 and stat > best):
            best = stat
            hi = x[order[k]]
            mid = (v + hi) / 2.0
            best_value = v if mid == hi else mid
    return best, best_value


@numba.njit(cache=True)
def _grow(
    x: np.ndarray,
    tid: np.ndarray,
    status: np.ndarray,
    bag: np.ndarray,
    mtry: int,
    min_node_size: int,
    seed: int,
    var: np.ndarray,
    value: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    leaf: np.ndarray,
    cover: np.ndarray,
    jump_ptr: np.ndarray,
    jump_tid: np.ndarray,
    jump_val: np.ndarray,
) -> tuple[int, int, int]:  # pragma: no cover (numba)
    """One tree on the samples ``bag`` (row indices, repeats allowed), written into the given
    node arrays (``var`` −1 at leaves, ``value``, ``left``, ``right``, ``leaf`` index, ``cover``:
    in-bag samples; capacity ``2 · len(bag) + 1``) and leaf jump arrays (``jump_ptr`` offsets,
    ``jump_tid``, ``jump_val``).
    Returns the numbers of nodes, leaves and jumps.
    """
    np.random.seed(seed)  # noqa: NPY002 (numba: per-thread state, seeded per tree)
    p = x.shape[1]
    n = len(bag)
    cap = 2 * n + 1
    var[:] = -1
    left[:] = -1
    right[:] = -1
    leaf[:] = -1
    jump_ptr[0] = 0
    start = np.zeros(cap, np.int64)
    end = np.zeros(cap, np.int64)
    idx = bag.copy()
    start[0] = 0
    end[0] = n
    n_nodes = 1
    n_leaves = 0
    n_jumps = 0
    stack = np.zeros(cap, np.int64)
    top = 1
    stack[0] = 0
    xs = np.empty(n)
    ranks = np.empty(n, np.int64)
    st = np.empty(n, np.int64)
    while top > 0:
        top -= 1
        node = stack[top]
        lo, hi = start[node], end[node]
        m = hi - lo
        cover[node] = m
        # node times: distinct time ranks, at risk and deaths
        ids = idx[lo:hi]
        t_node = tid[ids]
        t_order = np.argsort(t_node, kind="mergesort")
        uniq = np.empty(m, np.int64)
        n_u = 0
        for q in range(m):
            t = t_node[t_order[q]]
            if n_u == 0 or uniq[n_u - 1] != t:
                uniq[n_u] = t
                n_u += 1
            ranks[t_order[q]] = n_u - 1
        cnt_u = np.zeros(n_u)
        d_u = np.zeros(n_u)
        pure = True
        for q in range(m):
            r = ranks[q]
            cnt_u[r] += 1.0
            s = status[ids[q]]
            st[q] = s
            d_u[r] += s
            if q > 0 and (tid[ids[q]] != tid[ids[0]] or s != status[ids[0]]):
                pure = False
        terminal = pure or m <= min_node_size or m < 2 * min_node_size
        best = -1.0
        best_var = -1
        best_value = 0.0
        if not terminal:
            y = np.empty(n_u)
            acc = 0.0
            for r in range(n_u - 1, -1, -1):
                acc += cnt_u[r]
                y[r] = acc
            a = np.zeros(n_u)
            b = np.zeros(n_u)
            c = np.zeros(n_u)
            valid = np.zeros(n_u, np.bool_)
            q_all = 0.0
            sa = 0.0
            sb = 0.0
            sc = 0.0
            for r in range(n_u):
                if y[r] >= 2.0 and d_u[r] > 0.0:
                    valid[r] = True
                    w = d_u[r] * (y[r] - d_u[r]) / (y[r] - 1.0)
                    sa += d_u[r] / y[r]
                    sb += w / y[r]
                    sc += w / (y[r] * y[r])
                    q_all += w
                elif y[r] >= 2.0:
                    valid[r] = True
                a[r] = sa
                b[r] = sb
                c[r] = sc
            # q_all = Σ_t c_t Y_t² = Σ_t w_t: the pair sum with every sample on the right
            cand = np.random.permutation(p)[:mtry]  # noqa: NPY002
            for v in cand:
                for q in range(m):
                    xs[q] = x[ids[q], v]
                stat, cut = _best_cut(xs[:m], ranks[:m], st[:m], a, b, c, valid, q_all, min_node_size, best)
                if stat > best:
                    best = stat
                    best_var = v
                    best_value = cut
        if best_var < 0:
            # leaf: Nelson–Aalen jumps at the node's event times
            leaf[node] = n_leaves
            y_run = float(m)
            for r in range(n_u):
                if d_u[r] > 0.0:
                    jump_tid[n_jumps] = uniq[r]
                    jump_val[n_jumps] = d_u[r] / y_run
                    n_jumps += 1
                y_run -= cnt_u[r]
            n_leaves += 1
            jump_ptr[n_leaves] = n_jumps
            continue
        var[node] = best_var
        value[node] = best_value
        # partition: left ≤ cut
        i, j = lo, hi - 1
        while i <= j:
            if x[idx[i], best_var] <= best_value:
                i += 1
            else:
                tmp = idx[i]
                idx[i] = idx[j]
                idx[j] = tmp
                j -= 1
        lc, rc = n_nodes, n_nodes + 1
        n_nodes += 2
        left[node], right[node] = lc, rc
        start[lc], end[lc] = lo, i
        start[rc], end[rc] = i, hi
        stack[top] = rc
        stack[top + 1] = lc
        top += 2
    return n_nodes, n_leaves, n_jumps


@numba.njit(parallel=True, cache=True)
def _grow_many(
    x: np.ndarray,
    tid: np.ndarray,
    status: np.ndarray,
    bags: np.ndarray,
    mtry: int,
    min_node_size: int,
    seeds: np.ndarray,
    var: np.ndarray,
    value: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    leaf: np.ndarray,
    cover: np.ndarray,
    jump_ptr: np.ndarray,
    jump_tid: np.ndarray,
    jump_val: np.ndarray,
    sizes: np.ndarray,
) -> None:  # pragma: no cover (numba)
    """Trees ``k`` in parallel into row ``k`` of each array; ``sizes[k]`` = (nodes, leaves, jumps)."""
    for k in numba.prange(len(seeds)):
        nn, nl, nj = _grow(
            x,
            tid,
            status,
            bags[k],
            mtry,
            min_node_size,
            seeds[k],
            var[k],
            value[k],
            left[k],
            right[k],
            leaf[k],
            cover[k],
            jump_ptr[k],
            jump_tid[k],
            jump_val[k],
        )
        sizes[k, 0] = nn
        sizes[k, 1] = nl
        sizes[k, 2] = nj


@numba.njit(parallel=True, cache=True)
def _predict_chf(
    x: np.ndarray,
    var: np.ndarray,
    value: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    leaf: np.ndarray,
    node_off: np.ndarray,
    leaf_off: np.ndarray,
    jump_ptr: np.ndarray,
    jump_tid: np.ndarray,
    jump_val: np.ndarray,
    n_times: int,
    query: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover (numba)
    """Mean cumulative hazard at the time indices ``query`` (−1: before the first time) and the
    ensemble mortality (the hazard summed over all ``n_times`` training times), per row."""
    n = x.shape[0]
    n_trees = len(node_off) - 1
    out = np.zeros((n, len(query)))
    mort = np.zeros(n)
    for i in numba.prange(n):
        buf = np.zeros(n_times)
        total = 0.0
        for k in range(n_trees):
            node = 0
            base = node_off[k]
            while var[base + node] >= 0:
                if x[i, var[base + node]] <= value[base + node]:
                    node = left[base + node]
                else:
                    node = right[base + node]
            lf = leaf_off[k] + leaf[base + node]
            for q in range(jump_ptr[lf], jump_ptr[lf + 1]):
                t = int(jump_tid[q])
                buf[t] += jump_val[q]
                total += jump_val[q] * (n_times - t)
        acc = 0.0
        cum = np.empty(n_times)
        for t in range(n_times):
            acc += buf[t]
            cum[t] = acc
        for j in range(len(query)):
            if query[j] >= 0:
                out[i, j] = cum[query[j]] / n_trees
        mort[i] = total / n_trees
    return out, mort


# ----------------------------------------------------------------------------- public
@dataclass
class SurvivalForest:
    """A fitted random survival forest (see the module); ``times_`` are the training times."""

    n_trees: int
    mtry: int
    min_node_size: int
    replace: bool
    seed: int
    times_: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    nodes_: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def _chf(self, x: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float64)
        query = np.searchsorted(self.times_, np.asarray(times, dtype=float), side="right").astype(np.int64) - 1
        nd = self.nodes_
        return _predict_chf(
            x,
            nd["var"],
            nd["value"],
            nd["left"],
            nd["right"],
            nd["leaf"],
            nd["node_off"],
            nd["leaf_off"],
            nd["jump_ptr"],
            nd["jump_tid"],
            nd["jump_val"],
            len(self.times_),
            query,
        )

    def cumulative_hazard(self, x: np.ndarray, times: np.ndarray) -> np.ndarray:
        """The forest's mean Nelson–Aalen cumulative hazard, rows × ``times``."""
        return self._chf(x, times)[0]

    def survival(self, x: np.ndarray, times: np.ndarray) -> np.ndarray:
        """``S(t | x) = exp(−H(t | x))``, rows × ``times`` (ranger's ``predict(...)$survival``)."""
        return np.exp(-self._chf(x, times)[0])

    def mortality(self, x: np.ndarray) -> np.ndarray:
        """Ensemble mortality ``Σ_t H(t | x)`` over the training times (the risk score)."""
        return self._chf(x, np.empty(0))[1]

    def shap_model(self) -> dict:
        """The forest's mortality as an additive tree ensemble in SHAP's custom-model format.

        Each tree's leaf value is its leaf's mortality divided by the number of trees (so the
        trees sum to :meth:`mortality`), inner nodes hold the cover-weighted mean of their
        children, and ``node_sample_weight`` is the in-bag sample count; pass it to
        ``shap.TreeExplainer`` for exact (path-dependent) SHAP values of the risk score.
        """
        nd = self.nodes_
        n_times = len(self.times_)
        jt, jv, jp = nd["jump_tid"], nd["jump_val"], nd["jump_ptr"]
        leaf_mort = np.add.reduceat(jv * (n_times - jt), jp[:-1]) if len(jv) else np.zeros(len(jp) - 1)
        leaf_mort[jp[:-1] == jp[1:]] = 0.0  # reduceat gives the next value for empty ranges
        trees = []
        for k in range(self.n_trees):
            lo, hi = nd["node_off"][k], nd["node_off"][k + 1]
            var, left, right = nd["var"][lo:hi], nd["left"][lo:hi], nd["right"][lo:hi]
            cover = nd["cover"][lo:hi].astype(np.float64)
            values = np.zeros(hi - lo)
            is_leaf = var < 0
            values[is_leaf] = leaf_mort[nd["leaf_off"][k] + nd["leaf"][lo:hi][is_leaf]] / self.n_trees
            for node in range(hi - lo - 1, -1, -1):  # children come after their parent
                if not is_leaf[node]:
                    a, b = left[node], right[node]
                    values[node] = (cover[a] * values[a] + cover[b] * values[b]) / cover[node]
            trees.append(
                {
                    "children_left": np.where(is_leaf, -1, left).astype(np.int32),
                    "children_right": np.where(is_leaf, -1, right).astype(np.int32),
                    "children_default": np.where(is_leaf, -1, left).astype(np.int32),
                    "features": np.where(is_leaf, -2, var).astype(np.int32),
                    "thresholds": nd["value"][lo:hi].astype(np.float64),
                    "values": values[:, None],
                    "node_sample_weight": cover,
                }
            )
        return {"trees": trees, "base_offset": 0.0, "tree_output": "raw_value", "input_dtype": np.float64}


def survival_forest(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    n_trees: int = 500,
    mtry: int | None = None,
    min_node_size: int = 3,
    replace: bool = True,
    seed: int = 0,
) -> SurvivalForest:
    """Grow a random survival forest (see the module; ranger's defaults).

    Parameters
    ----------
    x
        Rows × features (numeric, no missing values).
    time, event
        Follow-up time and event indicator (1 = event, 0 = censored).
    n_trees
        Trees (ranger ``num.trees``).
    mtry
        Candidate variables per node; default ``ceil(sqrt(p))`` as ranger's survival forest.
    min_node_size
        ranger's ``min.node.size`` (3 for survival).
    replace
        Bootstrap with replacement (``n`` draws); otherwise every row once per tree.
    seed
        Seed of the resampling and the candidate variables (each tree gets its own stream, so
        the forest does not depend on the number of threads).
    """
    fn = "survival_forest"
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event)
    n, p = x.shape if x.ndim == 2 else (0, 0)
    check_param(fn, "x", x.shape, x.ndim == 2 and n >= 2 and p >= 1, "a 2-D array with >= 2 rows and >= 1 column")
    check_param(fn, "x", "values", bool(np.isfinite(x).all()), "finite (no missing values)")
    check_param(fn, "time", time.shape, time.shape == (n,) and bool(np.isfinite(time).all()), f"{n} finite times")
    check_param(fn, "event", event.shape, event.shape == (n,) and bool(np.isin(event, (0, 1)).all()), "0/1 per row")
    check_param(fn, "n_trees", n_trees, isinstance(n_trees, int) and n_trees >= 1, "an integer >= 1")
    if mtry is None:
        mtry = max(1, math.ceil(math.sqrt(p)))
    check_param(fn, "mtry", mtry, isinstance(mtry, int) and 1 <= mtry <= p, f"an integer in [1, {p}]")
    check_param(
        fn, "min_node_size", min_node_size, isinstance(min_node_size, int) and min_node_size >= 1, "an integer >= 1"
    )
    times, tid = np.unique(time, return_inverse=True)
    status = event.astype(np.int64)
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, size=n_trees)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("var", "value", "left", "right", "leaf", "cover", "jump_ptr")}
    tids, vals = [], []
    node_off, leaf_off, jump_base = [0], [0], 0
    cap = 2 * n + 1
    tid64 = tid.astype(np.int64)
    for lo in range(0, n_trees, _BLOCK):
        k = min(_BLOCK, n_trees - lo)
        arrs = {
            "var": np.empty((k, cap), np.int32),
            "value": np.zeros((k, cap)),
            "left": np.empty((k, cap), np.int32),
            "right": np.empty((k, cap), np.int32),
            "leaf": np.empty((k, cap), np.int32),
            "cover": np.zeros((k, cap), np.int64),
            "jump_ptr": np.zeros((k, cap + 1), np.int64),
            "jump_tid": np.zeros((k, n), np.int32),
            "jump_val": np.zeros((k, n)),
        }
        sizes = np.zeros((k, 3), np.int64)
        bags = (rng.integers(0, n, size=(k, n)) if replace else np.broadcast_to(np.arange(n), (k, n))).astype(np.int64)
        _grow_many(
            x, tid64, status, np.ascontiguousarray(bags), mtry, min_node_size, seeds[lo : lo + k], *arrs.values(), sizes
        )
        for i in range(k):
            nn, nl, nj = (int(v) for v in sizes[i])
            for name in ("var", "value", "left", "right", "leaf", "cover"):
                parts[name].append(arrs[name][i, :nn].copy())
            parts["jump_ptr"].append(arrs["jump_ptr"][i, :nl] + jump_base)
            tids.append(arrs["jump_tid"][i, :nj].copy())
            vals.append(arrs["jump_val"][i, :nj].copy())
            jump_base += nj
            node_off.append(node_off[-1] + nn)
            leaf_off.append(leaf_off[-1] + nl)
    nodes = {k: np.concatenate(v) for k, v in parts.items()}
    nodes["jump_ptr"] = np.append(nodes["jump_ptr"], jump_base).astype(np.int64)
    nodes["jump_tid"] = np.concatenate(tids)
    nodes["jump_val"] = np.concatenate(vals)
    nodes["node_off"] = np.asarray(node_off, dtype=np.int64)
    nodes["leaf_off"] = np.asarray(leaf_off, dtype=np.int64)
    return SurvivalForest(n_trees, mtry, min_node_size, replace, seed, times_=times, nodes_=nodes)
