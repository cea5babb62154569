"""Analytic Hierarchy Process (AHP) engine. Standard library only; no Odoo, no numpy.

A pairwise comparison matrix ``A`` holds in ``A[i][j]`` how much more important criterion ``i``
is than criterion ``j`` on Saaty's 1-9 scale; it must be positive and reciprocal
(``A[j][i] == 1 / A[i][j]``, ones on the diagonal). :func:`analyse` derives the priority weights
(the principal right eigenvector, normalised to sum 1) and Saaty's consistency figures;
:func:`most_inconsistent_pair` tells which judgement to revise when the matrix is inconsistent.

Reference: T. L. Saaty, *The Analytic Hierarchy Process*, McGraw-Hill, New York, 1980;
T. L. Saaty, "How to make a decision: The Analytic Hierarchy Process",
European Journal of Operational Research 48 (1990) 9-26.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from types import MappingProxyType

__all__ = [
    "CR_THRESHOLD",
    "MAX_SIZE",
    "RANDOM_INDEX",
    "SAATY_SCALE",
    "AggregateResult",
    "AhpError",
    "AhpResult",
    "RespondentCheck",
    "aggregate_judgements",
    "analyse",
    "matrix_from_upper",
    "most_inconsistent_pair",
]

Matrix = Sequence[Sequence[float]]

#: Saaty's fundamental scale of absolute numbers (Saaty 1980; Saaty 1990). The reciprocals
#: 1/2 .. 1/9 express the inverse judgement.
SAATY_SCALE: Mapping[int, str] = MappingProxyType(
    {
        1: "Equal importance",
        2: "Intermediate (between equal and moderate)",
        3: "Moderate importance",
        4: "Intermediate (between moderate and strong)",
        5: "Strong importance",
        6: "Intermediate (between strong and very strong)",
        7: "Very strong importance",
        8: "Intermediate (between very strong and extreme)",
        9: "Extreme importance",
    }
)

#: Saaty's random consistency index RI for n = 1..15 (index 0 is n = 1): the mean consistency
#: index of randomly generated reciprocal matrices, as tabulated in T. L. Saaty,
#: *The Analytic Hierarchy Process*, McGraw-Hill, 1980. This is the commonly used table, dip at
#: n = 12 included; other simulation studies publish slightly different values.
RANDOM_INDEX: tuple[float, ...] = (
    0.0,
    0.0,
    0.58,
    0.90,
    1.12,
    1.24,
    1.32,
    1.41,
    1.45,
    1.49,
    1.51,
    1.48,
    1.56,
    1.57,
    1.59,
)

#: Largest matrix the random index table covers.
MAX_SIZE = len(RANDOM_INDEX)

#: Saaty's acceptance threshold: judgements are consistent enough when CR < 0.10.
CR_THRESHOLD = 0.10

_CONVERGENCE = 1e-15
_MAX_ITERATIONS = 10_000


class AhpError(ValueError):
    """A comparison matrix that the AHP cannot use, or a computation that failed.

    Messages about a matrix number its rows and columns from 1, as an admin reads them.
    """


@dataclass(frozen=True)
class AhpResult:
    """Outcome of :func:`analyse`."""

    weights: tuple[float, ...]
    """Priority of each criterion: the principal right eigenvector, normalised to sum 1."""
    lambda_max: float
    """Principal eigenvalue; equals n exactly for a perfectly consistent matrix."""
    ci: float
    """Consistency index (lambda_max - n) / (n - 1); 0 for n <= 2."""
    ri: float
    """Saaty's random index for n."""
    cr: float
    """Consistency ratio CI / RI; 0 for n <= 2."""

    @property
    def consistent(self) -> bool:
        """True when the consistency ratio is below Saaty's 10 % threshold."""
        return self.cr < CR_THRESHOLD


def analyse(matrix: Matrix, tol: float = 1e-6) -> AhpResult:
    """Weights and consistency of a positive reciprocal pairwise comparison matrix.

    ``tol`` is the relative tolerance for the reciprocity and unit-diagonal checks, so that
    judgements rounded to a few decimals (0.333 for 1/3) can be allowed by passing a larger one.
    Raises :class:`AhpError` when the matrix is not usable.
    """
    a = _validated(matrix, tol)
    n = len(a)
    weights = _principal_eigenvector(a)
    lambda_max = math.fsum(_dot(row, weights) / w for row, w in zip(a, weights, strict=True)) / n
    ri = RANDOM_INDEX[n - 1]
    if n <= 2:
        ci = cr = 0.0
    else:
        # lambda_max >= n in exact arithmetic; clamp the rounding noise of consistent matrices.
        ci = max(0.0, (lambda_max - n) / (n - 1))
        cr = ci / ri
    return AhpResult(weights=tuple(weights), lambda_max=lambda_max, ci=ci, ri=ri, cr=cr)


def most_inconsistent_pair(
    matrix: Matrix, weights: Sequence[float] | None = None, *, tol: float = 1e-6
) -> tuple[int, int] | None:
    """The judgement (i, j), 0-based with i < j, that strays furthest from the weights.

    A consistent matrix would hold ``w_i / w_j`` in cell (i, j); the deviation of a judgement is
    ``max(a_ij * w_j / w_i, w_i / (a_ij * w_j))`` (>= 1, and 1 when it agrees). The weights are
    those of :func:`analyse` unless given. Returns None for n <= 2, where there is nothing to
    contradict. Ties go to the first pair in row order; in a consistent matrix every deviation
    is 1, so check :attr:`AhpResult.consistent` before asking an admin to revise anything.
    """
    a = _validated(matrix, tol)
    n = len(a)
    if n <= 2:
        return None
    if weights is None:
        w = _principal_eigenvector(a)
    else:
        if len(weights) != n:
            raise AhpError(f"{len(weights)} weights were given for a {n}x{n} matrix.")
        w = [_positive(value, f"weight {k + 1}") for k, value in enumerate(weights)]
    worst: tuple[int, int] | None = None
    worst_deviation = -math.inf
    for i in range(n):
        for j in range(i + 1, n):
            ratio = a[i][j] * w[j] / w[i]
            deviation = max(ratio, 1.0 / ratio)
            if deviation > worst_deviation:
                worst, worst_deviation = (i, j), deviation
    return worst


def matrix_from_upper(n: int, upper: Mapping[tuple[int, int], float]) -> list[list[float]]:
    """Full reciprocal n x n matrix from the judgements above the diagonal.

    ``upper`` maps 0-based pairs (i, j) with i < j to a_ij; a missing pair means 1 (equal).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise AhpError(f"The matrix size must be a positive whole number, not {n!r}.")
    a = [[1.0] * n for _ in range(n)]
    for key, value in upper.items():
        if not (
            isinstance(key, tuple)
            and len(key) == 2
            and all(isinstance(k, int) and not isinstance(k, bool) for k in key)
            and 0 <= key[0] < key[1] < n
        ):
            raise AhpError(f"Comparison key {key!r} is not a pair (i, j) of 0-based indices with 0 <= i < j < {n}.")
        i, j = key
        a[i][j] = _positive(value, f"Comparison ({i}, {j}) (0-based)")
        a[j][i] = 1.0 / a[i][j]
    return a


# --------------------------------------------------------------------------- helpers


def _dot(row: Sequence[float], vector: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(row, vector, strict=True))


def _normalised(vector: Sequence[float]) -> list[float]:
    total = math.fsum(vector)
    return [x / total for x in vector]


def _principal_eigenvector(a: list[list[float]]) -> list[float]:
    """Power iteration, started from the normalised row geometric means (exact when consistent).

    With entries within Saaty's 1/9..9 the error shrinks by a factor of at least 80/82 per step
    (Birkhoff's contraction bound), so convergence comes within about 1,500 steps (in practice
    under 150); only matrices with far wider ratios can reach the iteration cap.
    """
    n = len(a)
    w = _normalised([math.exp(math.fsum(math.log(x) for x in row) / n) for row in a])
    for _ in range(_MAX_ITERATIONS):
        nxt = _normalised([_dot(row, w) for row in a])
        if max(abs(x - y) for x, y in zip(nxt, w, strict=True)) < _CONVERGENCE:
            return nxt
        w = nxt
    raise AhpError(f"The priority weights did not converge within {_MAX_ITERATIONS} power iterations.")


def _positive(value: object, what: str) -> float:
    """``value`` as a finite float > 0, else AhpError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise AhpError(f"{what} is not a number: {value!r}.")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise AhpError(f"{what} must be a finite number greater than 0, not {value!r}.")
    return number


def _validated(matrix: Matrix, tol: float) -> list[list[float]]:
    """The matrix as a list of float rows, after checking every rule of a comparison matrix."""
    if isinstance(tol, bool) or not isinstance(tol, Real) or not 0 <= tol < 1:
        raise AhpError(f"The tolerance must be a number in [0, 1), not {tol!r}.")
    if isinstance(matrix, str | bytes) or not isinstance(matrix, Sequence):
        raise AhpError("The comparison matrix must be a list of rows.")
    n = len(matrix)
    if n == 0:
        raise AhpError("The comparison matrix is empty.")
    for r, row in enumerate(matrix, start=1):
        if isinstance(row, str | bytes) or not isinstance(row, Sequence):
            raise AhpError(f"Row {r} of the comparison matrix is not a list of numbers.")
        if len(row) != n:
            raise AhpError(
                f"The comparison matrix is not square: row {r} has {len(row)} entries but the matrix has {n} rows."
            )
    if n > MAX_SIZE:
        raise AhpError(
            f"The comparison matrix has {n} criteria; at most {MAX_SIZE} are supported "
            "(Saaty's random index is tabulated up to 15)."
        )
    a = [
        [_positive(value, f"Entry at row {r}, column {c}") for c, value in enumerate(row, start=1)]
        for r, row in enumerate(matrix, start=1)
    ]
    for i in range(n):
        if abs(a[i][i] - 1.0) > tol:
            raise AhpError(
                f"Diagonal entry at row {i + 1}, column {i + 1} is {a[i][i]!r}; an item compared with itself must be 1."
            )
    for i in range(n):
        for j in range(i + 1, n):
            # a_ji must equal 1/a_ij within tol, relative to 1/a_ij.
            if abs(a[i][j] * a[j][i] - 1.0) > tol:
                raise AhpError(
                    f"The comparison matrix is not reciprocal: entry ({i + 1}, {j + 1}) is "
                    f"{a[i][j]:g}, so entry ({j + 1}, {i + 1}) must be {1.0 / a[i][j]:g}, "
                    f"but it is {a[j][i]:g}."
                )
    return a


# --------------------------------------------------------------------------- group judgements (AIJ)


@dataclass(frozen=True)
class RespondentCheck:
    """One respondent's matrix as :func:`aggregate_judgements` judged it."""

    index: int
    """Position of the respondent in the list given, from 0."""
    result: AhpResult
    """The respondent's own weights and consistency."""
    used: bool
    """Whether the respondent's judgements went into the aggregate."""

    @property
    def cr(self) -> float:
        return self.result.cr


@dataclass(frozen=True)
class AggregateResult:
    """Outcome of :func:`aggregate_judgements`."""

    matrix: tuple[tuple[float, ...], ...]
    """The aggregated matrix: element-wise geometric mean of the judgements used."""
    result: AhpResult
    """:func:`analyse` of the aggregated matrix (weights, lambda_max, CI, CR)."""
    respondents: tuple[RespondentCheck, ...]
    """Every respondent, in the order given, with their CR and whether they were used."""
    threshold: float
    """The CR at or above which a respondent counts as inconsistent."""

    @property
    def used(self) -> tuple[int, ...]:
        """Indices of the respondents whose judgements were aggregated."""
        return tuple(r.index for r in self.respondents if r.used)

    @property
    def excluded(self) -> tuple[int, ...]:
        """Indices of the respondents left out (inconsistent ones, when excluding)."""
        return tuple(r.index for r in self.respondents if not r.used)

    @property
    def flagged(self) -> tuple[int, ...]:
        """Indices of the inconsistent respondents (CR >= threshold), used or not."""
        return tuple(r.index for r in self.respondents if r.cr >= self.threshold)


def aggregate_judgements(
    matrices: Sequence[Matrix],
    exclude_inconsistent: bool = True,
    threshold: float = CR_THRESHOLD,
    *,
    tol: float = 1e-6,
) -> AggregateResult:
    """Aggregate several respondents' comparison matrices into one by the geometric mean (AIJ).

    Each matrix is checked like any other (square, positive, reciprocal, same size as the others)
    and analysed; a respondent whose CR is ``threshold`` or more is inconsistent. With
    ``exclude_inconsistent`` (the default) only the consistent respondents are aggregated; without
    it every respondent is, the inconsistent ones only flagged (:attr:`AggregateResult.flagged`).
    The aggregate holds in cell (i, j) the geometric mean of the respondents' a_ij, which keeps it
    reciprocal (the geometric mean of the 1/a_ij is 1/the geometric mean of the a_ij): aggregation of
    individual judgements, AIJ, the method for a group acting as one unit. The aggregate is then
    analysed like any matrix (its own CR is reported, not assumed).

    References: J. Aczél and T. L. Saaty, "Procedures for synthesizing ratio judgements", Journal of
    Mathematical Psychology 27 (1983) 93-102; E. Forman and K. Peniwati, "Aggregating individual
    judgments and priorities with the Analytic Hierarchy Process", European Journal of Operational
    Research 108 (1998) 165-169.

    Raises :class:`AhpError` when no respondent is given, when the matrices differ in size, when a
    matrix is unusable (naming the respondent, from 1) or when no respondent is consistent enough.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0 < threshold:
        raise AhpError(f"The consistency threshold must be a number greater than 0, not {threshold!r}.")
    if isinstance(matrices, str | bytes) or not isinstance(matrices, Sequence) or not matrices:
        raise AhpError("No respondent's judgements were given; at least one comparison matrix is needed.")
    validated = []
    for k, matrix in enumerate(matrices, start=1):
        try:
            validated.append(_validated(matrix, tol))
        except AhpError as error:
            raise AhpError(f"Respondent {k}: {error}") from error
    n = len(validated[0])
    for k, a in enumerate(validated[1:], start=2):
        if len(a) != n:
            raise AhpError(
                f"The respondents' matrices differ in size: respondent 1 compares {n} criteria, "
                f"respondent {k} compares {len(a)}."
            )
    checks = []
    for k, a in enumerate(validated):
        result = analyse(a, tol)
        checks.append(RespondentCheck(index=k, result=result, used=not exclude_inconsistent or result.cr < threshold))
    used = [a for a, check in zip(validated, checks, strict=True) if check.used]
    if not used:
        raise AhpError(
            f"No respondent is consistent enough: every one of the {len(validated)} has a consistency "
            f"ratio of {threshold:g} or more, so there is nothing to aggregate."
        )
    m = len(used)
    aggregate = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            # Geometric mean through logarithms; a_ji is set as the exact reciprocal.
            mean = math.exp(math.fsum(math.log(a[i][j]) for a in used) / m)
            aggregate[i][j] = mean
            aggregate[j][i] = 1.0 / mean
    return AggregateResult(
        matrix=tuple(tuple(row) for row in aggregate),
        result=analyse(aggregate, tol),
        respondents=tuple(checks),
        threshold=float(threshold),
    )
