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

For X-chromosomal variants (females diploid, males hemizygous) the exact test of
Graffelman & Weir (2016), as ``plink2 --hardy`` writes it to ``.hardy.x``, has the same
layers: :func:`hwe_chrx_exact_p`, :func:`hwe_chrx_exact_p_many`, :func:`hwe_test_chrx`.

References
----------
Wigginton JE, Cutler DJ, Abecasis GR (2005). A note on exact tests of Hardy–Weinberg
equilibrium. *Am J Hum Genet* 76:887–893.
Graffelman J, Moreno V (2013). The mid p-value in exact tests for Hardy–Weinberg
equilibrium. *Stat Appl Genet Mol Biol* 12:433–448.
Graffelman J, Weir BS (2016). Testing for Hardy–Weinberg equilibrium at biallelic genetic
markers on the X chromosome. *Heredity* 116:558–568.

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

__all__ = [
    "hwe_chrx_exact_p",
    "hwe_chrx_exact_p_many",
    "hwe_exact_p",
    "hwe_exact_p_many",
    "hwe_test",
    "hwe_test_chrx",
]

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


def _counts(name: str, value: Any, function: str = "hwe_test") -> np.ndarray:
    arr = np.asarray(value)
    ok = arr.dtype.kind in "iu" or (
        arr.dtype.kind == "f" and bool(np.all(np.isfinite(arr))) and bool(np.all(arr == np.round(arr)))
    )
    check_param(function, name, value, ok, "integer counts")
    check_param(function, name, value, bool(np.all(arr >= 0)), "non-negative counts")
    check_param(function, name, value, bool(np.all(arr < 2**31)), "counts below 2**31")
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


# ------------------------------------------------------------------------- chrX (Graffelman & Weir 2016)
#
# On the X chromosome (outside the pseudo-autosomal regions) females carry two copies and males one.
# Graffelman & Weir (2016) test HWE there with the exact distribution of the table
# (female AA, AB, BB; male A, B) given the numbers of females n_f and males n_m and the allele
# totals n_A, n_B (female and male alleles together, allele frequencies equal in both sexes):
#
#     P = n_A! n_B! n_f! n_m! 2^{n_AB} / (n_AA! n_AB! n_BB! m_A! m_B! (2 n_f + n_m)!)
#
# The p-value sums the tables no more likely than the observed one. plink2 (2.00a3.5,
# ``HweXchrP``) counts tables within a relative 2⁻⁴⁰ of the observed likelihood as ties
# (mid-p: each tie counts half the observed likelihood), which is done here too.

_TIE_X = 2.0**-40  # plink2's kExactTestEpsilon2 for the chrX test


@numba.njit(cache=True, nogil=True)
def _chrx_row(het: float, a: float, b: float, lik: float, obs: float, tail0: float) -> tuple[float, float, float]:
    """One row (fixed male counts) of the chrX test, walked outward from its mode, the mode excluded.

    ``(het, a, b)``: female heterozygotes and homozygotes at the row's mode, of likelihood
    ``lik`` on the scale where the observed table has likelihood ``obs``; ``tail0`` is the
    tail summed so far (terms that no longer change it end a walk). Returns the row's
    (center, tail, ties) sums.
    """
    center = 0.0
    tail = 0.0
    ties = 0.0
    hi = obs * (1.0 + _TIE_X)
    lo = obs * (1.0 - _TIE_X)
    for direction in (-1, 1):
        cur = lik
        h = het
        rr = a
        cc = b
        while True:
            if direction < 0:
                if h < 1.5:
                    break
                rr += 1.0
                cc += 1.0
                cur *= h * (h - 1.0) / (4.0 * rr * cc)
                h -= 2.0
            else:
                if rr < 0.5 or cc < 0.5:
                    break
                h += 2.0
                cur *= 4.0 * rr * cc / (h * (h - 1.0))
                rr -= 1.0
                cc -= 1.0
            if cur > hi:
                center += cur
                continue
            if cur >= lo:
                ties += cur
            before = tail0 + tail
            tail += cur
            if before + cur == before and cur < lo:
                break
    return center, tail, ties


_NARROW = 48  # rows whose centre spans at most this many tables: sum the centre, tail = row total - centre


@numba.njit(cache=True, nogil=True)
def _cross(
    h: float, a: float, b: float, lik: float, m1: float, nm: float, up: bool
) -> tuple[float, float, float, float]:
    """The adjacent-row table reached by moving one allele between the sexes (male allele-1 count m1 -> m1 ± 1)."""
    m2 = nm - m1
    if up:  # a female allele 1 becomes 2, a male allele 2 becomes 1
        if a > 0.5:
            lik *= 2.0 * a * m2 / ((m1 + 1.0) * (h + 1.0))
            return h + 1.0, a - 1.0, b, lik
        lik *= h * m2 / (2.0 * (m1 + 1.0) * (b + 1.0))
        return h - 1.0, a, b + 1.0, lik
    if b > 0.5:  # a female allele 2 becomes 1, a male allele 1 becomes 2
        lik *= 2.0 * b * m1 / ((m2 + 1.0) * (h + 1.0))
        return h + 1.0, a, b - 1.0, lik
    lik *= h * m1 / (2.0 * (m2 + 1.0) * (a + 1.0))
    return h - 1.0, a + 1.0, b, lik


@numba.njit(cache=True, nogil=True)
def _up2(h: float, a: float, b: float, lik: float) -> tuple[float, float, float, float]:
    """The table with two more heterozygotes in the same row."""
    lik *= 4.0 * a * b / ((h + 1.0) * (h + 2.0))
    return h + 2.0, a - 1.0, b - 1.0, lik


@numba.njit(cache=True, nogil=True)
def _down2(h: float, a: float, b: float, lik: float) -> tuple[float, float, float, float]:
    """The table with two fewer heterozygotes in the same row."""
    lik *= h * (h - 1.0) / (4.0 * (a + 1.0) * (b + 1.0))
    return h - 2.0, a + 1.0, b + 1.0, lik


@numba.njit(cache=True, nogil=True)
def _to_mode(h: float, a: float, b: float, lik: float) -> tuple[float, float, float, float, bool]:
    """Climb to the row's mode; stops early (done False) once lik exceeds 2^900, for the caller to rescale."""
    while lik <= _RESCALE_ABOVE:
        if a > 0.5 and b > 0.5 and 4.0 * a * b > (h + 1.0) * (h + 2.0):
            h, a, b, lik = _up2(h, a, b, lik)
        elif h > 1.5 and h * (h - 1.0) > 4.0 * (a + 1.0) * (b + 1.0):
            h, a, b, lik = _down2(h, a, b, lik)
        else:
            return h, a, b, lik, True
    return h, a, b, lik, False


@numba.njit(cache=True, nogil=True)
def _tail_walk(h: float, a: float, b: float, lik: float, down: bool, tail0: float) -> float:
    """Sum from table (h, a, b) (included) away from the mode until the terms stop counting next to tail0."""
    s = 0.0
    while True:
        before = tail0 + s
        s += lik
        if before + lik == before:
            break
        if down:
            if h < 1.5:
                break
            h, a, b, lik = _down2(h, a, b, lik)
        else:
            if a < 0.5 or b < 0.5:
                break
            h, a, b, lik = _up2(h, a, b, lik)
    return s


@numba.njit(cache=True, nogil=True)
def hwe_chrx_exact_p(f_het: int, f_hom1: int, f_hom2: int, m_1: int, m_2: int, midp: bool) -> float:
    """Exact HWE test p-value of one chrX variant (Graffelman & Weir 2016), as ``plink2 --hardy`` (.hardy.x).

    Parameters
    ----------
    f_het, f_hom1, f_hom2
        Female genotype counts: heterozygotes, homozygotes of allele 1, homozygotes of allele 2.
    m_1, m_2
        Male (hemizygous) counts of allele 1 and of allele 2.
    midp
        Return the mid-p value instead of the standard p-value.

    Returns
    -------
    float
        The p-value; without males, the autosomal test of the females (:func:`hwe_exact_p`).

    Notes
    -----
    A *row* holds the male counts fixed; within it the female tables follow the autosomal
    distribution and the row totals follow a hypergeometric law in the male allele-1 count,
    so each row total comes from the previous one by one ratio. The observed row is summed
    table by table; in the other rows, walked outward from it, only the boundaries of the
    *centre* (tables more likely than the observed one) are tracked from row to row, and
    the row's tail is the row total minus a narrow centre, or the tails walked from the
    boundaries when the centre is wide. Once the modes of two consecutive rows are less
    likely than the observed table, every row further out is all tail and only its total
    is added.
    Likelihoods are relative to the observed table and rescaled before they could
    overflow; ties are tables within a relative 2⁻⁴⁰ of the observed likelihood.
    """
    if m_1 + m_2 == 0:
        return hwe_exact_p(f_het, f_hom1, f_hom2, midp)
    nf2 = 2.0 * float(f_het + f_hom1 + f_hom2)  # female alleles
    nm = float(m_1 + m_2)
    n1 = float(2 * f_hom1 + f_het + m_1)  # copies of allele 1, both sexes
    lo_row = max(0.0, n1 - nf2)
    hi_row = min(nm, n1)
    obs = 1.0
    # the observed row, walked in full from its mode
    mh, ma, mb, mlik = float(f_het), float(f_hom1), float(f_hom2), 1.0
    while True:
        mh, ma, mb, mlik, done = _to_mode(mh, ma, mb, mlik)
        if done:
            break
        mlik *= _RESCALE_BY
        obs *= _RESCALE_BY
    center = 0.0
    tail = 0.0
    ties = 0.0
    if mlik > obs * (1.0 + _TIE_X):
        center += mlik
    else:
        if mlik >= obs * (1.0 - _TIE_X):
            ties += mlik
        tail += mlik
    c_add, t_add, ties_add = _chrx_row(mh, ma, mb, mlik, obs, tail)
    center += c_add
    tail += t_add
    ties += ties_add
    row0 = mlik + c_add + t_add  # the observed row's total
    base = (mh, ma, mb, mlik, row0)
    for up in (True, False):
        m1 = float(m_1)
        h, a, b, lik, row = base
        # boundaries of the centre (tables more likely than the observed one), tracked from row to row
        lh, la, lb, llik = h, a, b, lik
        rh, ra, rb, rlik = h, a, b, lik
        all_tail = False
        low_rows = 0  # consecutive rows whose mode is less likely than the observed table
        while (up and m1 + 0.5 < hi_row) or ((not up) and m1 - 0.5 > lo_row):
            f1 = n1 - m1
            if up:
                row *= f1 / (nf2 - f1 + 1.0) * (nm - m1) / (m1 + 1.0)
            else:
                row *= (nf2 - f1) / (f1 + 1.0) * m1 / (nm - m1 + 1.0)
            if not all_tail:
                h, a, b, lik = _cross(h, a, b, lik, m1, nm, up)
                lh, la, lb, llik = _cross(lh, la, lb, llik, m1, nm, up)
                rh, ra, rb, rlik = _cross(rh, ra, rb, rlik, m1, nm, up)
            m1 += 1.0 if up else -1.0
            while True:
                if not all_tail:
                    h, a, b, lik, done = _to_mode(h, a, b, lik)
                else:
                    done = True
                if done and row <= _RESCALE_ABOVE and center <= _RESCALE_ABOVE:
                    break
                row *= _RESCALE_BY
                lik *= _RESCALE_BY
                llik *= _RESCALE_BY
                rlik *= _RESCALE_BY
                obs *= _RESCALE_BY
                center *= _RESCALE_BY
                tail *= _RESCALE_BY
                ties *= _RESCALE_BY
            if obs == 0.0:
                return 0.0  # the observed table is below 2^-1074 of the likeliest: p underflows
            hi = obs * (1.0 + _TIE_X)
            lo = obs * (1.0 - _TIE_X)
            if not all_tail and lik >= lo:
                low_rows = 0
            if all_tail:
                before = tail
                tail += row
                if tail == before:
                    break
                continue
            if lik <= hi:
                # no table of this row is more likely than the observed one: all tail (ties only at the mode)
                if lik >= lo:
                    ties += lik
                    if h > 1.5:
                        t = _down2(h, a, b, lik)[3]
                        if t >= lo:
                            ties += t
                    if a > 0.5 and b > 0.5:
                        t = _up2(h, a, b, lik)[3]
                        if t >= lo:
                            ties += t
                else:
                    # Two rows in a row (both parities of the female allele count: with few females
                    # the row modes zigzag) below the observed likelihood: every row further out is
                    # less likely still, all tail and without ties.
                    low_rows += 1
                    all_tail = low_rows >= 2
                before = tail
                tail += row
                lh, la, lb, llik = h, a, b, lik
                rh, ra, rb, rlik = h, a, b, lik
                if all_tail and tail == before:
                    break
                continue
            # left boundary: the most likely table left of the mode that is not in the centre
            if lh > h:
                lh, la, lb, llik = h, a, b, lik
            has_left = True
            if llik > hi:
                while llik > hi:
                    if lh < 1.5:
                        has_left = False
                        break
                    lh, la, lb, llik = _down2(lh, la, lb, llik)
            else:
                while lh + 2.0 <= h:
                    nh, na, nb, nlik = _up2(lh, la, lb, llik)
                    if nlik > hi:
                        break
                    lh, la, lb, llik = nh, na, nb, nlik
            if rh < h:
                rh, ra, rb, rlik = h, a, b, lik
            has_right = True
            if rlik > hi:
                while rlik > hi:
                    if ra < 0.5 or rb < 0.5:
                        has_right = False
                        break
                    rh, ra, rb, rlik = _up2(rh, ra, rb, rlik)
            else:
                while rh - 2.0 >= h:
                    nh, na, nb, nlik = _down2(rh, ra, rb, rlik)
                    if nlik > hi:
                        break
                    rh, ra, rb, rlik = nh, na, nb, nlik
            if has_left and llik >= lo:
                ties += llik
            if has_right and rlik >= lo:
                ties += rlik
            # the centre spans the tables strictly between the boundaries
            c_lo = lh + 2.0 if has_left else lh
            c_hi = rh - 2.0 if has_right else rh
            row_tail = -1.0
            if (c_hi - c_lo) * 0.5 + 1.0 <= _NARROW:
                # walk the centre from the left boundary (or the row's low end)
                if has_left:
                    ch, ca, cb, clik = _up2(lh, la, lb, llik)
                else:
                    ch, ca, cb, clik = lh, la, lb, llik
                csum = clik
                while ch + 1.0 < c_hi:
                    ch, ca, cb, clik = _up2(ch, ca, cb, clik)
                    csum += clik
                row_tail = row - csum
                if row_tail < 1e-3 * row:
                    row_tail = -1.0  # too much cancellation: walk the tails instead
            if row_tail < 0.0:
                row_tail = 0.0
                if has_left:
                    row_tail += _tail_walk(lh, la, lb, llik, True, tail)
                if has_right:
                    row_tail += _tail_walk(rh, ra, rb, rlik, False, tail + row_tail)
            tail += row_tail
            center += row - row_tail
    total = tail + center
    if midp:
        return (tail - 0.5 * ties) / total
    return tail / total


@numba.njit(cache=True, nogil=True)
def hwe_chrx_exact_p_many(
    f_het: np.ndarray, f_hom1: np.ndarray, f_hom2: np.ndarray, m_1: np.ndarray, m_2: np.ndarray, midp: bool
) -> np.ndarray:
    """:func:`hwe_chrx_exact_p` over 1-D arrays of counts (int64, equal lengths); float64 p-values."""
    n = f_het.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = hwe_chrx_exact_p(f_het[i], f_hom1[i], f_hom2[i], m_1[i], m_2[i], midp)
    return out


def hwe_test_chrx(
    female_het: Any, female_hom1: Any, female_hom2: Any, male_1: Any, male_2: Any, *, midp: bool = False
) -> Any:
    """Hardy–Weinberg exact test for X-chromosomal variants (Graffelman & Weir 2016), as ``plink2 --hardy``.

    Females are diploid and males hemizygous; the test conditions on the numbers of
    females and males and on the allele totals of both sexes together, so it tests HWE
    in females and equal allele frequencies in the two sexes at once. plink2 writes it
    to ``.hardy.x`` (column P, or MIDP with ``midp``).

    Parameters
    ----------
    female_het, female_hom1, female_hom2
        Female genotype counts per variant: heterozygotes and the homozygotes of allele 1
        and allele 2 (integers or array-likes that broadcast together).
    male_1, male_2
        Male counts of allele 1 and allele 2 (the same alleles as the female homozygotes).
    midp
        Return mid-p values (``plink2 --hardy midp``): tables as likely as the observed one
        count by half.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar inputs, else float64 p-values of the broadcast shape. Without
        males the result is the autosomal test of the females (:func:`hwe_test`); a single
        possible table gives p = 1 (mid-p 0.5).

    Raises
    ------
    InputError
        If a count is negative, not an integer, or ≥ 2³¹, or the shapes do not broadcast.

    References
    ----------
    Graffelman J, Weir BS (2016). Testing for Hardy–Weinberg equilibrium at biallelic
    genetic markers on the X chromosome. *Heredity* 116:558–568.

    Examples
    --------
    Two females (AA, AB) and one male (A): given 4 A and 1 B alleles, the other possible
    table (females AA, AA; male B) has probability 1/5, the observed one 4/5 (the hand
    calculation is in docs/genomics.md):

    >>> hwe_test_chrx(1, 1, 0, 1, 0), round(hwe_test_chrx(1, 1, 0, 1, 0, midp=True), 12)
    (1.0, 0.6)
    >>> round(hwe_test_chrx(0, 2, 0, 0, 1), 12), round(hwe_test_chrx(0, 2, 0, 0, 1, midp=True), 12)
    (0.2, 0.1)
    """
    check_param("hwe_test_chrx", "midp", midp, isinstance(midp, bool | np.bool_), "True or False")
    names = ("female_het", "female_hom1", "female_hom2", "male_1", "male_2")
    values = (female_het, female_hom1, female_hom2, male_1, male_2)
    arrays = [_counts(k, v, function="hwe_test_chrx") for k, v in zip(names, values, strict=True)]
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError:
        check_param(
            "hwe_test_chrx",
            "female_het",
            np.shape(female_het),
            False,
            "of a shape that broadcasts with the other counts",
        )
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a.reshape(-1)) for a in arrays]
    p = hwe_chrx_exact_p_many(*flat, bool(midp)).reshape(shape)
    if not shape:
        return float(p)
    return p
