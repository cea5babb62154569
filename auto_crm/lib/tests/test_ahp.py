"""Tests of the AHP engine (auto_crm/lib/ahp.py). Plain pytest, no Odoo; numpy as a reference."""

import dataclasses
import math
import random
from fractions import Fraction

import ahp
import numpy as np
import pytest
from ahp import AhpError, analyse, matrix_from_upper, most_inconsistent_pair

# Saaty's scale and its reciprocals, the values an admin can pick.
SCALE_VALUES = [float(v) for v in range(1, 10)] + [1.0 / v for v in range(2, 10)]


def consistent_matrix(weights):
    return [[wi / wj for wj in weights] for wi in weights]


def random_reciprocal(n, rng):
    upper = {(i, j): rng.choice(SCALE_VALUES) for i in range(n) for j in range(i + 1, n)}
    return matrix_from_upper(n, upper)


def numpy_principal(matrix):
    """Principal eigenvalue and eigenvector (normalised to sum 1) according to numpy."""
    values, vectors = np.linalg.eig(np.array(matrix, dtype=float))
    k = int(np.argmax(values.real))
    vector = np.abs(vectors[:, k].real)
    return float(values[k].real), vector / vector.sum()


# ------------------------------------------------------------------- published examples


def test_saaty_1990_house_example():
    """Saaty's house purchase example: the eight criteria compared with one another.

    T. L. Saaty, "How to make a decision: The Analytic Hierarchy Process", EJOR 48 (1990) 9-26.
    Published: weights .173 .054 .188 .018 .031 .036 .167 .333, lambda_max 9.669, C.I. 0.238,
    C.R. 0.169. Printed to 3 decimals, so each figure must agree within half a unit of its last
    digit (numpy gives the same).
    """
    matrix = [
        [1, 5, 3, 7, 6, 6, 1 / 3, 1 / 4],
        [1 / 5, 1, 1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
        [1 / 3, 3, 1, 6, 3, 4, 6, 1 / 5],
        [1 / 7, 1 / 5, 1 / 6, 1, 1 / 3, 1 / 4, 1 / 7, 1 / 8],
        [1 / 6, 1 / 3, 1 / 3, 3, 1, 1 / 2, 1 / 5, 1 / 6],
        [1 / 6, 1 / 3, 1 / 4, 4, 2, 1, 1 / 5, 1 / 6],
        [3, 5, 1 / 6, 7, 5, 5, 1, 1 / 2],
        [4, 7, 5, 8, 6, 6, 2, 1],
    ]
    result = analyse(matrix)
    published = [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333]
    assert result.weights == pytest.approx(published, abs=5e-4)
    assert result.lambda_max == pytest.approx(9.669, abs=5e-4)
    assert result.ci == pytest.approx(0.238, abs=5e-4)
    assert result.ri == 1.41
    assert result.cr == pytest.approx(0.169, abs=5e-4)
    assert not result.consistent


def test_three_by_three_example():
    """A 3x3 example of the kind used in AHP tutorials.

    No published figure for this matrix could be confirmed, so the expected values are numpy's
    (weights 0.1571 0.5936 0.2493, lambda_max 3.0536, CR 0.0462) to 4 decimals. For n = 3 the
    principal eigenvector equals the normalised row geometric means, checked as well.
    """
    matrix = [[1, 1 / 3, 1 / 2], [3, 1, 3], [2, 1 / 3, 1]]
    result = analyse(matrix)
    assert result.weights == pytest.approx([0.1571, 0.5936, 0.2493], abs=5e-5)
    assert result.lambda_max == pytest.approx(3.0536, abs=5e-5)
    assert result.ci == pytest.approx(0.0268, abs=5e-5)
    assert result.ri == 0.58
    assert result.cr == pytest.approx(0.0462, abs=5e-5)
    assert result.consistent
    geometric = [math.prod(row) ** (1 / 3) for row in matrix]
    assert result.weights == pytest.approx([g / sum(geometric) for g in geometric], abs=1e-12)


@pytest.mark.parametrize("weights", [[0.5, 0.3, 0.2], [0.4, 0.3, 0.2, 0.1], [1 / 15] * 15, [8, 4, 2, 1]])
def test_consistent_matrix_gives_its_weights(weights):
    result = analyse(consistent_matrix(weights))
    n = len(weights)
    total = sum(weights)
    assert result.weights == pytest.approx([w / total for w in weights], abs=1e-12)
    assert result.lambda_max == pytest.approx(n, abs=1e-12)
    assert result.ci == pytest.approx(0.0, abs=1e-12)
    assert result.cr == pytest.approx(0.0, abs=1e-12)
    assert result.consistent


# ------------------------------------------------------------------- agreement with numpy


@pytest.mark.parametrize("n", range(3, 16))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_numpy(n, seed):
    matrix = random_reciprocal(n, random.Random(1000 * seed + n))
    result = analyse(matrix)
    lambda_max, vector = numpy_principal(matrix)
    assert result.weights == pytest.approx(list(vector), abs=1e-9)
    assert result.lambda_max == pytest.approx(lambda_max, abs=1e-9)
    assert math.fsum(result.weights) == pytest.approx(1.0, abs=1e-12)
    assert result.ri == ahp.RANDOM_INDEX[n - 1]
    assert result.ci == pytest.approx((lambda_max - n) / (n - 1), abs=1e-9)
    assert result.cr == pytest.approx(result.ci / result.ri, rel=1e-12)


def test_random_index_table():
    assert ahp.RANDOM_INDEX == (0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59)


# ------------------------------------------------------------------- small matrices


def test_one_criterion():
    result = analyse([[1]])
    assert result.weights == (1.0,)
    assert result.lambda_max == 1.0
    assert (result.ci, result.ri, result.cr) == (0.0, 0.0, 0.0)
    assert result.consistent
    assert most_inconsistent_pair([[1]]) is None


def test_two_criteria():
    matrix = [[1, 3], [1 / 3, 1]]
    result = analyse(matrix)
    assert result.weights == pytest.approx([0.75, 0.25], abs=1e-12)
    assert result.lambda_max == pytest.approx(2.0, abs=1e-12)
    assert (result.ci, result.ri, result.cr) == (0.0, 0.0, 0.0)
    assert result.consistent
    assert most_inconsistent_pair(matrix) is None


def test_result_is_frozen():
    result = analyse([[1, 2], [0.5, 1]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.cr = 1.0


def test_accepts_other_number_types():
    matrix = [[1, Fraction(3), np.float64(0.5)], [Fraction(1, 3), 1, 3], [2, np.int64(1) / 3, 1]]
    expected = analyse([[1, 3, 0.5], [1 / 3, 1, 3], [2, 1 / 3, 1]])
    assert analyse(matrix).weights == pytest.approx(expected.weights, abs=1e-15)


# ------------------------------------------------------------------- refusals


def refusal(matrix, **kwargs):
    with pytest.raises(AhpError) as info:
        analyse(matrix, **kwargs)
    return str(info.value)


def test_ahp_error_is_a_value_error():
    assert issubclass(AhpError, ValueError)


def test_refuses_empty_matrix():
    assert "empty" in refusal([])


def test_refuses_non_square_matrix():
    assert "row 2 has 2 entries" in refusal([[1, 2, 3], [0.5, 1], [1 / 3, 1, 1]])
    assert "row 1 has 3 entries" in refusal([[1, 2, 3], [0.5, 1, 1]])


@pytest.mark.parametrize("bad", ["3", None, True, [3]])
def test_refuses_non_numbers(bad):
    matrix = [[1, 2, 1], [0.5, 1, bad], [1, 1 / 3, 1]]
    message = refusal(matrix)
    assert "row 2, column 3" in message
    assert "not a number" in message


@pytest.mark.parametrize("bad", [0, -2, math.nan, math.inf])
def test_refuses_non_positive_or_non_finite_entries(bad):
    message = refusal([[1, bad], [0.5, 1]])
    assert "row 1, column 2" in message
    assert "greater than 0" in message


def test_refuses_non_reciprocal_pair():
    matrix = [[1, 2, 3, 4], [1 / 2, 1, 2, 3], [1 / 3, 1 / 2, 1, 2], [1 / 4, 1 / 3, 2, 1]]
    message = refusal(matrix)
    assert "not reciprocal" in message
    assert "(3, 4)" in message
    assert "(4, 3)" in message


def test_reciprocity_tolerance():
    rounded = [[1, 3, 0.2], [0.333, 1, 0.5], [5, 2, 1]]  # 0.333 for 1/3
    assert "(1, 2)" in refusal(rounded)
    assert analyse(rounded, tol=1e-2).weights[2] > 0.5


def test_refuses_diagonal_other_than_one():
    message = refusal([[1, 2, 1], [0.5, 2, 1], [1, 1, 1]])
    assert "row 2, column 2" in message
    assert "must be 1" in message


def test_refuses_more_than_fifteen_criteria():
    assert "16 criteria" in refusal([[1] * 16 for _ in range(16)])
    assert analyse([[1] * 15 for _ in range(15)]).cr == pytest.approx(0.0, abs=1e-12)


def test_refuses_when_power_iteration_does_not_converge(monkeypatch):
    monkeypatch.setattr(ahp, "_MAX_ITERATIONS", 1)
    # 4x4: for n = 3 the starting guess (row geometric means) is already the eigenvector.
    matrix = [[1, 3, 5, 1 / 2], [1 / 3, 1, 4, 2], [1 / 5, 1 / 4, 1, 7], [2, 1 / 2, 1 / 7, 1]]
    assert "did not converge" in refusal(matrix)


# ------------------------------------------------------------------- inconsistency


@pytest.mark.parametrize(
    ("planted", "value"),
    [((1, 3), 1 / 4), ((0, 3), 1 / 8), ((0, 2), 1 / 4), ((1, 2), 1 / 6), ((0, 1), 1 / 5), ((2, 3), 1 / 7)],
)
def test_most_inconsistent_pair_finds_the_planted_judgement(planted, value):
    """A consistent 4x4 judgement set (weights 8:4:2:1) with one judgement badly reversed."""
    weights = [8, 4, 2, 1]
    upper = {(i, j): weights[i] / weights[j] for i in range(4) for j in range(i + 1, 4)}
    upper[planted] = value
    matrix = matrix_from_upper(4, upper)
    result = analyse(matrix)
    assert result.cr >= 0.10
    assert not result.consistent
    assert most_inconsistent_pair(matrix) == planted
    assert most_inconsistent_pair(matrix, result.weights) == planted


def test_most_inconsistent_pair_uses_given_weights():
    matrix = consistent_matrix([0.5, 0.3, 0.2])
    # Against weights that put item 3 first, the judgement item 1 over item 3 (2.5) is worst.
    assert most_inconsistent_pair(matrix, [0.2, 0.3, 0.5]) == (0, 2)
    with pytest.raises(AhpError, match="2 weights"):
        most_inconsistent_pair(matrix, [0.5, 0.5])
    with pytest.raises(AhpError, match="weight 2"):
        most_inconsistent_pair(matrix, [0.5, 0, 0.5])


def test_most_inconsistent_pair_validates_the_matrix():
    with pytest.raises(AhpError, match="row 2 has 1 entries"):
        most_inconsistent_pair([[1, 2], [0.5]])


# ------------------------------------------------------------------- matrix_from_upper


@pytest.mark.parametrize("n", [1, 2, 5, 15])
def test_matrix_from_upper_round_trip(n):
    matrix = random_reciprocal(n, random.Random(n))
    upper = {(i, j): matrix[i][j] for i in range(n) for j in range(i + 1, n)}
    assert matrix_from_upper(n, upper) == matrix
    for i in range(n):
        assert matrix[i][i] == 1.0
        for j in range(n):
            assert matrix[i][j] * matrix[j][i] == pytest.approx(1.0, rel=1e-15)
    analyse(matrix)  # accepted as a valid comparison matrix


def test_matrix_from_upper_missing_pairs_are_equal():
    assert matrix_from_upper(3, {(0, 2): 4}) == [[1, 1, 4], [1, 1, 1], [0.25, 1, 1]]
    assert matrix_from_upper(2, {}) == [[1, 1], [1, 1]]


@pytest.mark.parametrize("value", [0, -3, "5", None, math.inf])
def test_matrix_from_upper_refuses_bad_values(value):
    with pytest.raises(AhpError, match=r"\(0, 1\)"):
        matrix_from_upper(3, {(0, 1): value})


@pytest.mark.parametrize("key", [(1, 0), (1, 1), (0, 3), (-1, 2), "01", (0, 1, 2)])
def test_matrix_from_upper_refuses_bad_keys(key):
    with pytest.raises(AhpError, match="not a pair"):
        matrix_from_upper(3, {key: 2})


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_matrix_from_upper_refuses_bad_size(n):
    with pytest.raises(AhpError, match="size"):
        matrix_from_upper(n, {})


# ------------------------------------------------------------------- scale


def test_saaty_scale():
    scale = ahp.SAATY_SCALE
    assert list(scale) == list(range(1, 10))
    assert scale[1].startswith("Equal")
    assert scale[3].startswith("Moderate")
    assert scale[5].startswith("Strong")
    assert scale[7].startswith("Very strong")
    assert scale[9].startswith("Extreme")
    assert all(scale[v].startswith("Intermediate") for v in (2, 4, 6, 8))
    with pytest.raises(TypeError):
        scale[10] = "More"
