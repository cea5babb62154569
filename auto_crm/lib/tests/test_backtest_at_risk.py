"""benchmarks/backtest_at_risk.py runs without Odoo and prints figures it computed (not that the score wins)."""

import importlib.util
import math
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "backtest_at_risk.py"


@pytest.fixture(scope="module")
def backtest():
    spec = importlib.util.spec_from_file_location("backtest_at_risk", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_run_prints_computed_figures(backtest, capsys):
    backtest.main(["--n", "400", "--seed", "7"])
    out = capsys.readouterr().out
    result = backtest.run(400, 7)
    assert "N = 400 customers" in out
    assert result["scored"] == 400 and 0 < result["lost"] < 400
    rules = result["rules"]
    assert list(rules) == ["risk score >= 40", "risk score >= 50", "risk score >= 60", "no visit for 180 days"]
    for name, row in rules.items():
        assert 0 <= row["right"] <= row["flagged"] <= result["scored"]
        assert row["right"] <= result["lost"]
        if row["flagged"]:
            assert math.isclose(row["precision"], row["right"] / row["flagged"])
        assert math.isclose(row["recall"], row["right"] / result["lost"])
        # the printed line carries the same figures
        line = next(line for line in out.splitlines() if line.startswith(name))
        numbers = re.findall(r"[\d,.]+", line[len(name) :])
        assert int(numbers[0].replace(",", "")) == row["flagged"]
        assert int(numbers[1].replace(",", "")) == row["right"]
        assert float(numbers[2]) == round(100 * row["precision"], 1)
        assert float(numbers[3]) == round(100 * row["recall"], 1)
    # a higher threshold never flags more
    assert (
        rules["risk score >= 40"]["flagged"]
        >= rules["risk score >= 50"]["flagged"]
        >= rules["risk score >= 60"]["flagged"]
    )


def test_fixed_seed_same_table(backtest):
    assert backtest.table(backtest.run(300, 3)) == backtest.table(backtest.run(300, 3))
    assert backtest.run(300, 3)["rules"] != backtest.run(300, 4)["rules"]
