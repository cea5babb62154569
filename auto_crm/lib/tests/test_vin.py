import masking
import pytest
import vin


def test_textbook_vin_is_valid():
    assert vin.validate("1M8GDM9AXKP042788") == "1M8GDM9AXKP042788"


def test_normalise_spaces_dashes_and_case():
    assert vin.validate(" 1m8gdm9a-xkp042788 ") == "1M8GDM9AXKP042788"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1M8GDM9AXKP04278", "length"),
        ("1M8GDM9AXKP0427888", "length"),
        ("1M8GDM9AXKO042788", "forbidden"),
        ("1M8GDM9A1KP042788", "check_digit"),
        ("", "length"),
    ],
)
def test_broken_rules_are_named(value, code):
    with pytest.raises(vin.VinError) as caught:
        vin.validate(value)
    assert caught.value.code == code


def test_check_digit_x():
    # A remainder of 10 is written X.
    for serial in range(2000):
        candidate = vin.with_check_digit(f"LSVAU2180N2{serial:06d}")
        assert vin.validate(candidate) == candidate
        if candidate[8] == "X":
            break
    else:
        pytest.fail("no VIN with an X check digit among 2000 serials")


def test_with_check_digit_refuses_wrong_length():
    with pytest.raises(vin.VinError):
        vin.with_check_digit("ABC")


def test_check_digit_refuses_wrong_length():
    """An 18th character is a broken rule, not an IndexError (and never cut off)."""
    for value in ("1M8GDM9AXKP042788" + "8", "1M8GDM9AXKP04278"):
        with pytest.raises(vin.VinError) as caught:
            vin.check_digit(value)
        assert caught.value.code == "length"
    with pytest.raises(vin.VinError) as caught:
        vin.validate("1M8GDM9AXKP042788" + "8")
    assert caught.value.params == {"length": 18}


def test_masking():
    assert masking.mask_identifier("11010519491231002X") == "110105********002X"
    assert masking.mask_identifier("12345") == "****5"
    assert masking.mask_identifier("") == ""
    assert masking.mask_identifier(None) == ""
