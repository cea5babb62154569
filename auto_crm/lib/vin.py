"""Vehicle identification numbers (ISO 3779, GB 16735): normalisation and check digit.

Pure Python, no Odoo import, so that it can be unit-tested alone.
"""

VIN_LENGTH = 17
FORBIDDEN = frozenset("IOQ")
_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    "A": 1,
    "B": 2,
    "C": 3,
    "D": 4,
    "E": 5,
    "F": 6,
    "G": 7,
    "H": 8,
    "J": 1,
    "K": 2,
    "L": 3,
    "M": 4,
    "N": 5,
    "P": 7,
    "R": 9,
    "S": 2,
    "T": 3,
    "U": 4,
    "V": 5,
    "W": 6,
    "X": 7,
    "Y": 8,
    "Z": 9,
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


class VinError(ValueError):
    """A VIN that breaks one of the rules.

    ``code`` names the rule (length, forbidden, character, check_digit) and ``params`` holds the
    values to show, so that a caller can word the message in the user's language.
    """

    def __init__(self, message, code, **params):
        super().__init__(message)
        self.code = code
        self.params = params


def normalize(vin):
    """Upper-case and strip spaces and dashes; None and '' give ''."""
    return "".join((vin or "").split()).replace("-", "").upper()


def check_digit(vin):
    """The check digit ('0'-'9' or 'X') for a 17-character VIN (position 9 ignored)."""
    if len(vin) != VIN_LENGTH:
        raise VinError(f"a VIN has {VIN_LENGTH} characters, this one has {len(vin)}", "length", length=len(vin))
    total = 0
    for position, char in enumerate(vin):
        if char not in _TRANSLITERATION:
            raise VinError(
                f"character {char!r} at position {position + 1} is not allowed in a VIN",
                "character",
                char=char,
                position=position + 1,
            )
        total += _TRANSLITERATION[char] * _WEIGHTS[position]
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate(vin):
    """Return the normalised VIN, or raise VinError naming the broken rule."""
    vin = normalize(vin)
    if len(vin) != VIN_LENGTH:
        raise VinError(f"a VIN has {VIN_LENGTH} characters, this one has {len(vin)}", "length", length=len(vin))
    bad = ", ".join(sorted(FORBIDDEN.intersection(vin)))
    if bad:
        raise VinError(f"the letters I, O and Q are not used in a VIN (found {bad})", "forbidden", letters=bad)
    expected = check_digit(vin)
    if vin[8] != expected:
        raise VinError(
            f"the check digit (position 9) should be {expected}, not {vin[8]}",
            "check_digit",
            expected=expected,
            found=vin[8],
        )
    return vin


def with_check_digit(vin17):
    """Return vin17 with its 9th character replaced by the right check digit (for test data)."""
    vin17 = normalize(vin17)
    if len(vin17) != VIN_LENGTH:
        raise VinError(f"a VIN has {VIN_LENGTH} characters, this one has {len(vin17)}", "length", length=len(vin17))
    return vin17[:8] + check_digit(vin17) + vin17[9:]
