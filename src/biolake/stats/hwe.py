"""Hardy–Weinberg equilibrium: the exact test of Wigginton, Cutler & Abecasis (2005).

For a biallelic variant observed in ``n`` diploid samples as ``n_hom1`` homozygotes of
one allele, ``n_het`` heterozygotes and ``n_hom2`` homozygotes of the other, the number
of heterozygotes given the allele counts follows (under HWE) the distribution

.. math::

    P(N_{het} = h \\mid n, n_r) = \\frac{2^h \\, n! \\, n_r! \\, (2n - n_r)!}
        {h! \\, ((n_r - h)/2)! \\, (n - h - (n_r - h)/2)! \\, (2n)!}

where ``n_r`` is the count of the rarer allele. The two-sided p-value is the total
probability of the tables no more likely than the observed one; the *mid-p* variant
(Graffelman & Moreno 2013) counts the tables exactly as likely as the observed one by
half. Both are computed as ``plink2 --hardy`` (and ``--hardy midp``) computes them:
relative likelihoods from the observed table outward by the recurrence

.. math::

    \\frac{P(h - 2)}{P(h)} = \\frac{h (h - 1)}{4 (n_{rr} + 1)(n_{cc} + 1)}

(``n_rr``, ``n_cc``: the rare and common homozygote counts at ``h``), tables within a
relative 2⁻⁴⁴ of the observed likelihood counted as ties, summation stopped once the
terms no longer change the sum, and sums rescaled before they could overflow so that
p-values down to the smallest doubles are resolved.

Layers, as for every biolake statistic:

* :func:`hwe_exact_p` — the algorithm for one variant (numba-compiled; its pure Python
  original is ``hwe_exact_p.py_func``);
* :func:`hwe_exact_p_many` — the same over arrays of counts, compiled, GIL released;
* :func:`hwe_test` — the public function: validates its inputs, broadcasts them.

References
----------
Wigginton JE, Cutler DJ, Abecasis GR (2005). A note on exact tests of Hardy–Weinberg
equilibrium. *Am J Hum Genet* 76:887–893.
Graffelman J, Moreno V (2013). The mid p-value in exact tests for Hardy–Weinberg
equilibrium. *Stat Appl Genet Mol Biol* 12:433–448.

Examples
--------
>>> float(f"{hwe_test(110, 53, 84):.6g}")   # plink2 --hardy prints P 0.154484 for these counts
0.154484
>>> hwe_test([0, 1, 2], [10, 9, 8], [0, 0, 0]).round(6).tolist()
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from biolake.errors import check_param

__all__ = ["hwe_exact_p", "hwe_exact_p_many", "hwe_test"]

_TIE = 2.0**-44  # relative tolerance for likelihoods equal to the observed one
_RESCALE_ABOVE = 2.0**900  # rescale the sums before they could overflow
_RESCALE_BY = 2.0**-900


@numba.njit(cache=True, nogil=True)
def hwe_exact_p(n_het: int, n_hom1: int, n_hom2: int, midp: bool) -> float:
    """Exact HWE test p-value of one biallelic variant (see the module docstring).

    Parameters
    ----------
    n_het, n_hom1, n_hom2
        Genotype counts: heterozygotes and the two homozygotes (order does not matter).
    midp
        Return the mid-p value instead of the standard p-value.

    Returns
    -------
    float
        The p-value: 1.0 (mid-p 0.5) when there is no sample or a single possible table.
    """
    if n_hom1 < n_hom2:
        homr = float(n_hom1)
        homc = float(n_hom2)
    else:
        homr = float(n_hom2)
        homc = float(n_hom1)
    het0 = float(n_het)
    if het0 + homr + homc == 0:
        return 0.5 if midp else 1.0
    obs = 1.0  # likelihood of the observed table, on the current scale
    tail = 1.0  # tables no more likely than the observed one (the observed one included)
    ties = 1.0  # tables as likely as the observed one (for mid-p)
    center = 0.0  # tables more likely than the observed one
    # Two walks from the observed table: towards fewer heterozygotes, then towards more.
    for direction in (-1, 1):
        lik = 1.0
        het = het0
        rr = homr
        cc = homc
        while True:
            if direction < 0:
                if het < 1.5:
                    break
                rr += 1.0
                cc += 1.0
                lik *= het * (het - 1.0) / (4.0 * rr * cc)
                het -= 2.0
            else:
                if rr < 0.5:
                    break
                het += 2.0
                lik *= 4.0 * rr * cc / (het * (het - 1.0))
                rr -= 1.0
                cc -= 1.0
            if lik > obs * (1.0 + _TIE):
                center += lik
                if center > _RESCALE_ABOVE:
                    center *= _RESCALE_BY
                    lik *= _RESCALE_BY
                    tail *= _RESCALE_BY
                    ties *= _RESCALE_BY
                    obs *= _RESCALE_BY
                continue
            if lik >= obs * (1.0 - _TIE):
                ties += lik
            before = tail
            tail += lik
            # Past the mode the likelihoods only decrease: stop once they stop counting.
            if tail == before and lik < obs:
                break
    total = tail + center
    if midp:
        return (tail - 0.5 * ties) / total
    return tail / total


@numba.njit(cache=True, nogil=True)
def hwe_exact_p_many(n_het: np.ndarray, n_hom1: np.ndarray, n_hom2: np.ndarray, midp: bool) -> np.ndarray:
    """:func:`hwe_exact_p` over 1-D arrays of counts (int64, equal lengths); float64 p-values."""
    n = n_het.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = hwe_exact_p(n_het[i], n_hom1[i], n_hom2[i], midp)
    return out


def _counts(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    ok = arr.dtype.kind in "iu" or (
        arr.dtype.kind == "f" and bool(np.all(np.isfinite(arr))) and bool(np.all(arr == np.round(arr)))
    )
    check_param("hwe_test", name, value, ok, "integer counts")
    check_param("hwe_test", name, value, bool(np.all(arr >= 0)), "non-negative counts")
    check_param("hwe_test", name, value, bool(np.all(arr < 2**31)), "counts below 2**31")
    return arr.astype(np.int64)


def hwe_test(n_het: Any, n_hom1: Any, n_hom2: Any, *, midp: bool = False) -> Any:
    """Hardy–Weinberg exact test p-values, as ``plink2 --hardy`` computes them.

    Parameters
    ----------
    n_het, n_hom1, n_hom2
        Heterozygote and homozygote counts per variant: integers or array-likes that
        broadcast together. The two homozygote counts may be given in either order.
    midp
        Return mid-p values (``plink2 --hardy midp``, ``--hwe ... midp``): tables as
        likely as the observed one count by half.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar inputs, else float64 p-values of the broadcast shape. A
        variant without samples, or with one allele only, has p = 1 (mid-p 0.5).

    Raises
    ------
    InputError
        If a count is negative, not an integer, or ≥ 2³¹, or the shapes do not broadcast.

    Examples
    --------
    >>> hwe_test(50, 25, 25)                      # exactly the expected counts
    1.0
    >>> float(f"{hwe_test(224, 26, 0):.6g}")     # 224 heterozygotes, 26 + 0 homozygotes
    9.77956e-46
    >>> float(f"{hwe_test(224, 26, 0, midp=True):.6g}")
    7.31038e-46
    """
    check_param("hwe_test", "midp", midp, isinstance(midp, bool | np.bool_), "True or False")
    het, hom1, hom2 = (_counts(k, v) for k, v in (("n_het", n_het), ("n_hom1", n_hom1), ("n_hom2", n_hom2)))
    try:
        het, hom1, hom2 = np.broadcast_arrays(het, hom1, hom2)
    except ValueError:
        check_param("hwe_test", "n_het", np.shape(n_het), False, "of a shape that broadcasts with n_hom1 and n_hom2")
    shape = het.shape
    flat = [np.ascontiguousarray(a.reshape(-1)) for a in (het, hom1, hom2)]
    p = hwe_exact_p_many(flat[0], flat[1], flat[2], bool(midp)).reshape(shape)
    if not shape:
        return float(p)
    return p
