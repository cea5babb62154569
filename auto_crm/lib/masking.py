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
