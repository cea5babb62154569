"""Masking of personal identifiers for people who may not read them in full. No Odoo import."""


def mask_identifier(value, keep_start=6, keep_end=4, char="*"):
    """Keep the first keep_start and last keep_end characters, mask the rest.

    Short values are masked entirely except the last character, so that nothing useful leaks.
    """
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return char * (len(value) - 1) + value[-1]
    return value[:keep_start] + char * (len(value) - keep_start - keep_end) + value[-keep_end:]


#: What of a Chinese resident ID number (region 6 + birth date 8 + sequence 3 + check 1) people who may
#: not read it see: the first two characters (the province, which the address tells anyway) and the last
#: two (the last sequence digit and the check character). The region's district, the whole birth date and
#: most of the sequence stay hidden, so the mask cannot be completed from the birthday or the address.
ID_CARD_KEEP_START = 2
ID_CARD_KEEP_END = 2


def mask_id_card_number(value):
    """The ID card number as people who may not read it see it: ``44**************1X``."""
    return mask_identifier(value, keep_start=ID_CARD_KEEP_START, keep_end=ID_CARD_KEEP_END)
