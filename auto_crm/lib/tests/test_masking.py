import masking
import pytest

NUMBERS = ["44030519850312001X", "110105199007150022", "310115197802220035", "320102198809090055"]


@pytest.mark.parametrize("number", NUMBERS)
def test_id_card_mask_keeps_province_and_last_two(number):
    masked = masking.mask_id_card_number(number)
    assert masked == number[:2] + "*" * 14 + number[-2:]
    assert len(masked) == 18


@pytest.mark.parametrize("number", NUMBERS)
def test_id_card_mask_hides_district_birth_date_and_sequence(number):
    masked = masking.mask_id_card_number(number)
    shown = [i for i, char in enumerate(masked) if char != "*"]
    assert shown == [0, 1, 16, 17]
    assert number[6:14] not in masked
    assert number[6:10] not in masked, "the birth year"


def test_id_card_mask_of_short_or_empty_values():
    assert masking.mask_id_card_number("1234") == "***4"
    assert masking.mask_id_card_number("") == ""
    assert masking.mask_id_card_number(None) == ""
    assert masking.mask_id_card_number(" 11010519491231002x ") == "11**************2x"
