"""Limits of what a field can hold, checked on the values given to ``create``/``write`` before the ORM
converts or writes anything.

Not a model: helper functions the add-on's models call first thing in their ``create`` and ``write``.
They exist because some bad values never reach an ``@api.constrains``: a ``Char`` with ``size=`` is
cut silently when the value is converted, a NaN or an infinite amount makes the ORM's rounding fail
with a raw ``ValueError``, a number beyond PostgreSQL's ``integer`` fails the INSERT itself. Each
refusal is a ``ValidationError`` that starts with the field's label and says the rule. (Messages go
through ``model.env._``: a plain ``_`` finds no language in a function without ``self``.)
"""

import math

from odoo.exceptions import ValidationError

#: PostgreSQL's ``integer`` column.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def field_label(model, name):
    """The field's label in the user's language."""
    return model._fields[name]._description_string(model.env)


def check_vals(model, vals_list, ranges=None, names=None):
    """Refuse the first value in ``vals_list`` (a list of ``create``/``write`` dictionaries) that its
    field cannot hold: a text longer than the field's ``size``, a NaN or infinite number, an integer
    beyond PostgreSQL's integer, or a number outside ``ranges`` (``{field name: (low, high)}``, both
    included, a bound of None is open). ``names`` limits the check to these fields (an inherited
    core model checks only the add-on's own)."""
    ranges = ranges or {}
    for vals in vals_list:
        for name, value in vals.items():
            field = model._fields.get(name)
            if field is None or value is None or value is False or (names is not None and name not in names):
                continue
            if field.type == "char" and field.size and isinstance(value, str) and len(value) > field.size:
                raise ValidationError(
                    model.env._(
                        "%(field)s: %(length)s characters is too long; at most %(size)s are allowed.",
                        field=field_label(model, name),
                        length=len(value),
                        size=field.size,
                    )
                )
            if field.type not in ("integer", "float", "monetary") or not isinstance(value, int | float):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise ValidationError(
                    model.env._(
                        "%(field)s: %(value)s is not a number; enter a finite value.",
                        field=field_label(model, name),
                        value=value,
                    )
                )
            low, high = ranges.get(name, (None, None))
            if field.type == "integer":
                low = INT_MIN if low is None else low
                high = INT_MAX if high is None else high
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValidationError(range_message(model, name, value, low, high))


def range_message(model, name, value, low, high):
    """'Field: value is out of range; enter a value from low to high.' (or the open side)."""
    label = field_label(model, name)
    if low is not None and high is not None:
        return model.env._(
            "%(field)s: %(value)s is out of range; enter a value from %(low)s to %(high)s.",
            field=label,
            value=value,
            low=low,
            high=high,
        )
    if low is not None:
        return model.env._(
            "%(field)s: %(value)s is too small; enter at least %(low)s.", field=label, value=value, low=low
        )
    return model.env._(
        "%(field)s: %(value)s is too large; enter at most %(high)s.", field=label, value=value, high=high
    )


def check_range(records, name, low, high):
    """For an ``@api.constrains``: refuse a stored value of ``name`` outside [low, high]."""
    for record in records:
        value = record[name]
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationError(range_message(records, name, value, low, high))
