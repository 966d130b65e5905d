"""Random survival forest against ranger 0.14.1 (log-rank splitting).

Reference outputs: ``tests/data/reference/precision/rsf/make_rsf_ranger.R``::

    fit <- ranger(Surv(time, status) ~ ., data = d, num.trees = 1, mtry = p, replace = FALSE,
                  sample.fraction = 1, min.node.size = 3, splitrule = "logrank", seed = 1)
    predict(fit, d)$chf                       # one deterministic tree
    fit <- ranger(Surv(time, status) ~ ., data = train, num.trees = 500, splitrule = "logrank", seed = s)
    colMeans(predict(fit, test)$survival[, idx]); concordance(Surv(time, status) ~ rowSums(chf), reverse = TRUE)
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.errors import InputError
from biolake.precision.survival.concordance import concordance_index
from biolake.stats.rsf import _best_cut, logrank_split_stat, survival_forest

REF = Path(__file__).parents[1] / "data" / "reference" / "precision" / "rsf"


def _load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pd.read_csv(REF / f"{name}_data.csv")
    return d.drop(columns=["time", "status"]).to_numpy(float), d["time"].to_numpy(float), d["status"].to_numpy()


def _single_tree(name: str) -> tuple[np.ndarray, np.ndarray]:
    x, t, e = _load(name)
    ref = pd.read_csv(REF / f"{name}_tree_chf.csv.gz")
    times = np.sort(ref["time"].unique())
    forest = survival_forest(x, t, e, n_trees=1, mtry=x.shape[1], replace=False)
    ours = forest.cumulative_hazard(x, times)
    theirs = ref.pivot(index="row", columns="time", values="chf").to_numpy()
    return ours, theirs


@pytest.mark.parametrize("name", ["lung", "veteran"])
def test_survival_forest__single_tree_equals_ranger(name: str) -> None:
    """Real data (survival::lung, survival::veteran): every node's split and every leaf's
    Nelson–Aalen hazard as ranger's, so the predicted CHF is equal for every row and time."""
    ours, theirs = _single_tree(name)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["sim1", "sim2"])
def test_survival_forest__single_tree_ties(name: str) -> None:
    """Simulated data with tied times: in small nodes two variables can give the same log-rank
    statistic (to the last bit); ranger takes the later of its random variable order, biolake
    the first of its own, so a few rows may fall in other leaves — at most 5 %."""
    ours, theirs = _single_tree(name)
    same = np.all(np.abs(ours - theirs) <= 1e-12, axis=1)
    assert same.mean() >= 0.95


@pytest.mark.parametrize("name", ["sim2", "lung"])
def test_survival_forest__forest_agrees_with_ranger(name: str) -> None:
    """500-tree forests with ranger's defaults (bootstrap, mtry = ceil(sqrt(p)), min.node.size 3)
    trained on the first 2/3 of the rows: the mean predicted survival of the test rows at the
    quartiles of the event times within 0.01 of ranger's (mean over 5 seeds; their seed-to-seed
    SD is ~0.002) and the test C-index within 0.02."""
    x, t, e = _load(name)
    ref = pd.read_csv(REF / f"{name}_forest_summary.csv")
    n_train = 2 * len(t) // 3
    times = ref.loc[0, ["t25", "t50", "t75"]].to_numpy(float)
    surv, cidx = [], []
    for seed in range(2):
        forest = survival_forest(x[:n_train], t[:n_train], e[:n_train], n_trees=500, seed=seed)
        surv.append(forest.survival(x[n_train:], times).mean(axis=0))
        cidx.append(concordance_index(t[n_train:], e[n_train:], forest.mortality(x[n_train:]))["concordance"])
    np.testing.assert_allclose(np.mean(surv, axis=0), ref[["s25", "s50", "s75"]].mean().to_numpy(), atol=0.01)
    assert abs(np.mean(cidx) - ref["c_index"].mean()) < 0.02


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(6, 40),
    seed=st.integers(0, 10_000),
    min_node=st.integers(1, 4),
    n_times=st.integers(2, 12),
)
def test_best_cut__equals_direct_logrank(n: int, seed: int, min_node: int, n_times: int) -> None:
    """The O(m log m) cut scan gives the best direct (ranger-formula) statistic over all cuts."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, n).astype(float)
    tid = rng.integers(0, n_times, n)
    status = rng.integers(0, 2, n)
    # node prefix sums as the tree builder makes them
    uniq, rank = np.unique(tid, return_inverse=True)
    cnt = np.bincount(rank, minlength=len(uniq)).astype(float)
    d = np.bincount(rank, weights=status, minlength=len(uniq))
    y = np.cumsum(cnt[::-1])[::-1]
    ok = (y >= 2) & (d > 0)
    w = np.where(ok, d * (y - d) / np.where(y > 1, y - 1, 1), 0.0)
    a = np.cumsum(np.where(ok, d / y, 0))
    b = np.cumsum(np.where(ok, w / y, 0))
    c = np.cumsum(np.where(ok, w / y**2, 0))
    best, cut = _best_cut(x, rank.astype(np.int64), status, a, b, c, y >= 2, float(w.sum()), min_node, -1.0)
    values = np.unique(x)
    direct = []
    for lo, hi in itertools.pairwise(values):
        right = x > (lo + hi) / 2
        if right.sum() >= min_node and (~right).sum() >= min_node:
            direct.append(logrank_split_stat(rank, status, right))
    direct_best = max([s for s in direct if s >= 0], default=-1.0)
    if direct_best < 0:
        assert best < 0
    else:
        assert best == pytest.approx(direct_best, rel=1e-9)
        assert logrank_split_stat(rank, status, x > cut) == pytest.approx(direct_best, rel=1e-9)


def test_logrank_split_stat__hand_example() -> None:
    """Two groups, 4 samples: times 1, 2, 3, 4 all events; right = {3, 4} (later times).
    t=1: Y=4, d=1, Y1=2: O−E = 0 − 0.5, V = (2/4)(2/4)(3/3)·1 = 0.25;
    t=2: Y=3, d=1, Y1=2: O−E = 0 − 2/3, V = (2/3)(1/3)(2/2) = 2/9;
    t=3: Y=2, d=1, Y1=2: O−E = 1 − 1 = 0, V = 1·0·… = 0;  t=4: Y=1 < 2, stop.
    L = |−1/2 − 2/3| / sqrt(1/4 + 2/9) = (7/6) / sqrt(17/36) = 7 / sqrt(17)."""
    stat = logrank_split_stat(np.arange(4), np.ones(4, np.int64), np.array([False, False, True, True]))
    assert stat == pytest.approx(7 / np.sqrt(17), rel=1e-14)


def test_survival_forest__same_with_one_or_two_threads() -> None:
    x, t, e = _load("veteran")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = survival_forest(x, t, e, n_trees=40, seed=7).mortality(x)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = survival_forest(x, t, e, n_trees=40, seed=7).mortality(x)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_survival_forest__survival_is_exp_minus_chf_and_monotone() -> None:
    x, t, e = _load("veteran")
    forest = survival_forest(x, t, e, n_trees=30, seed=1)
    grid = np.array([-1.0, 0.0, 10.0, 50.0, 100.0, 1000.0])
    chf = forest.cumulative_hazard(x[:20], grid)
    np.testing.assert_allclose(forest.survival(x[:20], grid), np.exp(-chf))
    assert np.all(np.diff(chf, axis=1) >= 0)
    assert np.all(chf[:, 0] == 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_trees": 0}, "n_trees"),
        ({"mtry": 9}, "mtry"),
        ({"min_node_size": 0}, "min_node_size"),
    ],
)
def test_survival_forest__invalid_parameters(kwargs: dict, match: str) -> None:
    x, t, e = _load("veteran")
    with pytest.raises(InputError, match=match):
        survival_forest(x, t, e, **kwargs)


def test_survival_forest__missing_values_refused() -> None:
    x, t, e = _load("veteran")
    x[3, 1] = np.nan
    with pytest.raises(InputError, match="finite"):
        survival_forest(x, t, e, n_trees=2)


def test_shap_model__adds_up_to_mortality() -> None:
    """SHAP values of the mortality (shap.TreeExplainer on :meth:`shap_model`) plus the expected
    value equal the forest's mortality for every row (SHAP's local accuracy)."""
    shap = pytest.importorskip("shap")
    x, t, e = _load("veteran")
    forest = survival_forest(x, t, e, n_trees=20, seed=1)
    explainer = shap.TreeExplainer(forest.shap_model())
    values = explainer.shap_values(x[:30])
    np.testing.assert_allclose(explainer.expected_value + values.sum(axis=1), forest.mortality(x[:30]), rtol=1e-12)


def test_shap_model__stump_by_hand() -> None:
    """One split (min_node_size 60 on 137 rows): the split variable's SHAP value is the row's
    leaf mortality minus the cover-weighted mean of the two leaves; every other value is 0."""
    shap = pytest.importorskip("shap")
    x, t, e = _load("veteran")
    forest = survival_forest(x, t, e, n_trees=1, mtry=x.shape[1], replace=False, min_node_size=60)
    var = forest.nodes_["var"]
    assert var.tolist()[1:] == [-1, -1]
    mort = forest.mortality(x)
    go_left = x[:, var[0]] <= forest.nodes_["value"][0]
    left, right = mort[go_left][0], mort[~go_left][0]
    mean = (go_left.sum() * left + (~go_left).sum() * right) / len(x)
    values = shap.TreeExplainer(forest.shap_model()).shap_values(x)
    np.testing.assert_allclose(values[:, var[0]], mort - mean, rtol=1e-12)
    assert np.all(np.delete(values, var[0], axis=1) == 0)
