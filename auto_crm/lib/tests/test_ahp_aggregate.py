"""Tests of the aggregation of several respondents' judgements (AIJ) in auto_crm/lib/ahp.py.

Plain pytest, no Odoo. The figures are worked out by hand below. For a 3x3 reciprocal matrix two
closed forms make that possible (Crawford & Williams 1985; Saaty 1980):

* the principal eigenvector equals the normalised row geometric means;
* lambda_max = 1 + c**(1/3) + c**(-1/3), where c = a12 * a23 / a13 (c = 1 when consistent).

CI = (lambda_max - 3) / 2 and CR = CI / 0.58 (Saaty's RI for n = 3).
"""

import math

import pytest
from ahp import CR_THRESHOLD, AhpError, aggregate_judgements, analyse

# Three respondents, three criteria (1 Reception, 2 Repair Quality, 3 Price); upper triangles:
#
#   respondent   a12   a13   a23    c = a12*a23/a13   lambda_max                      CR
#   R1            2     1    1/2    2*0.5/1 = 1       1 + 1 + 1 = 3                   0
#   R2            4     3     1     4*1/3 = 4/3       1 + 1.100642 + 0.908560         0.009203/2/0.58 = 0.007933
#                                                      = 3.009203
#   R3            8     9     2     8*2/9 = 16/9      1 + 1.211414 + 0.825482         0.036896/2/0.58 = 0.031807
#                                                      = 3.036896
# All three are consistent (CR < 0.10).
R1 = [[1, 2, 1], [1 / 2, 1, 1 / 2], [1, 2, 1]]
R2 = [[1, 4, 3], [1 / 4, 1, 1], [1 / 3, 1, 1]]
R3 = [[1, 8, 9], [1 / 8, 1, 2], [1 / 9, 1 / 2, 1]]
# An inconsistent respondent: 1 beats 2 extremely, 2 beats 3 extremely, yet 3 beats 1 extremely.
#   R4            9    1/9    9     9*9/(1/9) = 729   1 + 9 + 1/9 = 10.111111         7.111111/2/0.58 = 6.130268
R4 = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]

# Aggregate of R1, R2, R3 (geometric mean per cell):
#   a12 = (2*4*8)^(1/3)      = 64^(1/3)  = 4
#   a13 = (1*3*9)^(1/3)      = 27^(1/3)  = 3
#   a23 = (1/2*1*2)^(1/3)    = 1^(1/3)   = 1
# Row geometric means: (1*4*3)^(1/3) = 12^(1/3) = 2.289428; (1/4*1*1)^(1/3) = 0.629961;
#   (1/3*1*1)^(1/3) = 0.693361; sum 3.612750 -> weights 0.633708, 0.174371, 0.191921.
# c = 4*1/3 = 4/3 -> lambda_max = 3.009203, CI = 0.004601, CR = 0.007933 (as R2, same c).
AGGREGATE_3 = [[1, 4, 3], [1 / 4, 1, 1], [1 / 3, 1, 1]]
WEIGHTS_3 = (0.633708, 0.174371, 0.191921)

# Aggregate of R1..R4 (R4 kept, only flagged):
#   a12 = (2*4*8*9)^(1/4)    = 576^(1/4) = 2*sqrt(6) = 4.898979
#   a13 = (1*3*9*1/9)^(1/4)  = 3^(1/4)              = 1.316074
#   a23 = (1/2*1*2*9)^(1/4)  = 9^(1/4)   = sqrt(3)  = 1.732051
# Row geometric means: (4.898979*1.316074)^(1/3) = 6.447419^(1/3) = 1.861210;
#   (1.732051/4.898979)^(1/3) = (1/sqrt(8))^(1/3) = 0.707107; (1/(1.316074*1.732051))^(1/3) = 0.759836;
#   sum 3.328152 -> weights 0.559232, 0.212462, 0.228306.
# c = 4.898979*1.732051/1.316074 = 6.447420 -> c^(1/3) = 1.861210, c^(-1/3) = 0.537285,
#   lambda_max = 3.398495, CI = 0.199247, CR = 0.343530: the group matrix is itself inconsistent.
WEIGHTS_4 = (0.559232, 0.212462, 0.228306)


def assert_reciprocal(matrix):
    n = len(matrix)
    for i in range(n):
        assert matrix[i][i] == 1.0
        for j in range(n):
            assert matrix[i][j] * matrix[j][i] == pytest.approx(1.0, abs=1e-12)


def test_hand_worked_three_respondents():
    result = aggregate_judgements([R1, R2, R3])
    for row, expected in zip(result.matrix, AGGREGATE_3, strict=True):
        assert row == pytest.approx(expected, abs=1e-12)
    assert result.result.weights == pytest.approx(WEIGHTS_3, abs=5e-6)
    assert result.result.lambda_max == pytest.approx(3.009203, abs=5e-6)
    assert result.result.ci == pytest.approx(0.004601, abs=5e-6)
    assert result.result.cr == pytest.approx(0.007933, abs=5e-6)
    assert result.result.consistent
    assert [r.cr for r in result.respondents] == pytest.approx([0.0, 0.007933, 0.031807], abs=5e-6)
    assert result.used == (0, 1, 2)
    assert result.excluded == ()
    assert result.flagged == ()
    assert_reciprocal(result.matrix)


def test_aggregate_is_checked_like_any_matrix():
    # The aggregate's figures are exactly analyse() of the aggregate matrix.
    result = aggregate_judgements([R1, R2, R3])
    assert result.result == analyse(result.matrix)


def test_inconsistent_respondent_excluded():
    result = aggregate_judgements([R1, R2, R3, R4])
    assert result.respondents[3].cr == pytest.approx(6.130268, abs=5e-6)
    assert not result.respondents[3].used
    assert result.used == (0, 1, 2)
    assert result.excluded == (3,)
    assert result.flagged == (3,)
    # Without R4 the aggregate is the hand-worked one of R1..R3.
    assert result.result.weights == pytest.approx(WEIGHTS_3, abs=5e-6)
    assert result.result.cr == pytest.approx(0.007933, abs=5e-6)


def test_inconsistent_respondent_kept_and_flagged_changes_the_result():
    result = aggregate_judgements([R1, R2, R3, R4], exclude_inconsistent=False)
    assert result.used == (0, 1, 2, 3)
    assert result.flagged == (3,)
    assert result.matrix[0][1] == pytest.approx(4.898979, abs=5e-6)
    assert result.matrix[0][2] == pytest.approx(1.316074, abs=5e-6)
    assert result.matrix[1][2] == pytest.approx(1.732051, abs=5e-6)
    assert result.result.weights == pytest.approx(WEIGHTS_4, abs=5e-6)
    assert result.result.lambda_max == pytest.approx(3.398495, abs=5e-6)
    assert result.result.cr == pytest.approx(0.343530, abs=5e-6)
    assert not result.result.consistent
    assert_reciprocal(result.matrix)


def test_reciprocity_of_the_aggregate_on_uneven_judgements():
    # Four criteria, judgements that do not average to round numbers.
    a = [[1, 3, 5, 7], [1 / 3, 1, 3, 5], [1 / 5, 1 / 3, 1, 3], [1 / 7, 1 / 5, 1 / 3, 1]]
    b = [[1, 2, 6, 9], [1 / 2, 1, 2, 6], [1 / 6, 1 / 2, 1, 2], [1 / 9, 1 / 6, 1 / 2, 1]]
    result = aggregate_judgements([a, b], exclude_inconsistent=False)
    assert_reciprocal(result.matrix)
    # a12 = sqrt(3*2) = 2.449490; a34 = sqrt(3*2) as well; a14 = sqrt(63) = 7.937254
    assert result.matrix[0][1] == pytest.approx(math.sqrt(6), abs=1e-12)
    assert result.matrix[0][3] == pytest.approx(math.sqrt(63), abs=1e-12)


def test_all_inconsistent_is_an_error():
    with pytest.raises(AhpError, match="No respondent is consistent enough"):
        aggregate_judgements([R4, R4])


def test_single_respondent_is_itself():
    result = aggregate_judgements([R3])
    for row, expected in zip(result.matrix, R3, strict=True):
        assert row == pytest.approx(expected, abs=1e-12)
    assert result.result.weights == pytest.approx(analyse(R3).weights, abs=1e-12)
    assert result.result.cr == pytest.approx(0.031807, abs=5e-6)


def test_no_respondent_is_an_error():
    with pytest.raises(AhpError, match="No respondent's judgements were given"):
        aggregate_judgements([])


def test_sizes_differ_is_an_error():
    with pytest.raises(AhpError, match="differ in size: respondent 1 compares 3 criteria, respondent 2 compares 2"):
        aggregate_judgements([R1, [[1, 2], [1 / 2, 1]]])


def test_unusable_matrix_names_the_respondent():
    broken = [[1, 2, 1], [2, 1, 1 / 2], [1, 2, 1]]  # a21 should be 1/2
    with pytest.raises(AhpError, match="Respondent 2: The comparison matrix is not reciprocal"):
        aggregate_judgements([R1, broken])


def test_threshold_is_configurable():
    # At a threshold of 0.03, R3 (CR 0.031807) is inconsistent: the aggregate is that of R1 and R2,
    #   a12 = sqrt(2*4) = 2.828427, a13 = sqrt(1*3) = 1.732051, a23 = sqrt(1/2*1) = 0.707107.
    result = aggregate_judgements([R1, R2, R3], threshold=0.03)
    assert result.excluded == (2,)
    assert result.matrix[0][1] == pytest.approx(2.828427, abs=5e-6)
    assert result.matrix[0][2] == pytest.approx(1.732051, abs=5e-6)
    assert result.matrix[1][2] == pytest.approx(0.707107, abs=5e-6)
    assert CR_THRESHOLD == 0.10
    with pytest.raises(AhpError, match="threshold"):
        aggregate_judgements([R1], threshold=0)
