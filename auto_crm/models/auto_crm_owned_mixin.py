import datetime
import secrets

import babel.dates

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.misc import get_lang

#: The context key under which the add-on's own code writes the fields no person sets. Its value is a
#: random token drawn when the server process starts, which no JSON-RPC or XML-RPC client knows: a caller
#: that puts the key in its context gains nothing. (A string, not an object, so that a context stays
#: serialisable.)
OWNER_KEY = "auto_crm_workflow_stamp"
_OWNER_TOKEN = secrets.token_hex(16)

#: The key under which ``_owned_fill`` marks, in a ``create``'s values, the fields the add-on's code filled
#: in: an object, which no JSON-RPC or XML-RPC client can send as a key.
_FILLED = object()

#: The CLDR skeletons of the period headings: a year and a month ("2026年11月", "November 2026"), a year
#: and a quarter ("2026年第4季度", "Q4 2026").
PERIOD_SKELETONS = {"month": "yMMMM", "quarter": "yQQQ"}


def format_period(value, lang, granularity="month"):
    """A month (or quarter) heading of ``value`` in the pattern of the language ``lang`` (a code such
    as ``zh_CN``): the locale's own order of year and month, not Odoo's fixed ``MMMM yyyy``."""
    return babel.dates.format_skeleton(PERIOD_SKELETONS[granularity], value, locale=lang or "en_US")


#: Fields the ORM manages itself: never in a model's lists, never checked.
ORM_FIELDS = frozenset(models.MAGIC_COLUMNS) | {"display_name"}


class AutoCrmOwnedMixin(models.AbstractModel):
    """Every field has an owner: a person or the add-on.

    A model of the add-on inherits it and declares ``_user_fields``, the stored fields a person may
    write (through a form, an import or RPC): a set of names, or a dict ``{name: group_xmlids}`` where
    a non-empty tuple limits the field to those groups. Every other stored field the add-on defines
    (stamps, signatures, computed-and-stored figures, sources and origins, sequence numbers, balances,
    tiers, history...) is system-owned: only the add-on's code writes it, under ``sudo()`` or
    ``_owned_write`` (a private context key), after its own checks. Anyone else - the dealer
    administrator included - is refused with a UserError naming the field, on ``write`` and on
    ``create`` alike (a new record takes its system-owned values from defaults and the add-on's code).

    Fields of Odoo's own mixins (mail.thread...) and of the ORM are out of scope; on an inherited Odoo
    model (res.partner, res.company) only the fields this add-on adds count.
    """

    _name = "auto_crm.owned.mixin"
    _description = "Dealer CRM Field Owners"

    _user_fields = ()

    # ------------------------------------------------------------------ data helpers
    @classmethod
    def _owned_scope(cls, model):
        """The stored fields of ``model`` this mechanism guards: those the add-on defines."""
        return {
            fname
            for fname, field in model._fields.items()
            if field.store and field._module == "auto_crm" and fname not in ORM_FIELDS
        }

    def _owned_user_fields(self):
        """``{field: groups}``: the fields a person may write (groups empty = any user with write access)."""
        declared = self._user_fields
        if isinstance(declared, dict):
            return {fname: tuple(groups) for fname, groups in declared.items()}
        return dict.fromkeys(declared, ())

    def _owned_system_fields(self):
        """The stored fields of this model only the add-on's code writes."""
        return self._owned_scope(self) - set(self._owned_user_fields())

    def _owned_privileged(self):
        """Whether this environment writes as the add-on: superuser code (jobs, data files, sudo())
        or code that wrote under the private key."""
        return self.env.su or self.env.context.get(OWNER_KEY) == _OWNER_TOKEN

    def _owned_write(self, vals):
        """Write ``vals`` as the add-on's code (system-owned fields allowed; other checks still run)."""
        return self._owned_env().write(vals)

    def _owned_fill(self, vals, fname, value):
        """Fill ``fname`` in the values of a ``create`` as the add-on's code (a number from a sequence,
        a version...): called by a model's ``create`` before ``super()``."""
        vals[fname] = value
        vals.setdefault(_FILLED, set()).add(fname)

    def _owned_env(self):
        """This recordset in an environment that writes as the add-on's code."""
        return self.with_context(**{OWNER_KEY: _OWNER_TOKEN})

    # ------------------------------------------------------------------ guard
    def _owned_message(self, fname):
        return _(
            "%(field)s of %(model)s is set by the Dealer CRM itself; it cannot be written directly.",
            field=self._fields[fname].get_description(self.env)["string"],
            model=self._description,
        )

    def _owned_group_message(self, fname, groups):
        return _(
            "%(field)s of %(model)s is written by %(groups)s only.",
            field=self._fields[fname].get_description(self.env)["string"],
            model=self._description,
            groups=", ".join(self.env.ref(xmlid).name for xmlid in groups),
        )

    def _owned_check(self, vals, operation, filled=()):
        """Refuse ``vals`` when they carry a field the caller does not own (``filled``: the fields the
        add-on's code filled in). A caller without the access right is told so first; the stamps and
        signatures of the workflow are left to the workflow mixin, which words its own refusal."""
        if self._owned_privileged():
            return
        scope = self._owned_scope(self)
        if hasattr(self, "_workflow_protected_fields"):
            scope -= self._workflow_protected_fields()
        user_fields = self._owned_user_fields()
        for fname in sorted(scope & (set(vals) - set(filled))):
            if fname not in user_fields:
                if operation == "create" and self._owned_is_default(fname, vals[fname]):
                    continue
                self.browse().check_access(operation)
                raise UserError(self._owned_message(fname))
            groups = user_fields[fname]
            if groups and not any(self.env.user.has_group(xmlid) for xmlid in groups):
                raise AccessError(self._owned_group_message(fname, groups))

    def _owned_is_default(self, fname, value):
        """Whether ``value`` is what a new record gets anyway for this system-owned field: the ORM
        itself passes the defaults of a parent's fields when it creates a record through ``_inherits``
        (a user's contact), and a caller who sends the default gains nothing."""
        default = self.default_get([fname]).get(fname)
        field = self._fields[fname]
        if field.type == "many2one":
            value = value.id if isinstance(value, models.BaseModel) else value
        return (value or False) == (default or False)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._owned_check(vals, "create", vals.pop(_FILLED, ()))
        if self.env.su and self.env.context.get("install_filename") and not self.env.context.get("mail_create_nolog"):
            # A record of a data or demo file (loaded as superuser: no RPC caller is) gets no "... created"
            # note: the ORM would write it in English, once, whatever the language of its later readers.
            return (
                super(AutoCrmOwnedMixin, self.with_context(mail_create_nolog=True)).create(vals_list).with_env(self.env)
            )
        return super().create(vals_list)

    def write(self, vals):
        self._owned_check(vals, "write")
        return super().write(vals)

    def copy_data(self, default=None):
        """A person's duplicate starts its system-owned fields afresh (defaults and the add-on's code),
        as a new record would: only what the caller passes in ``default`` is checked."""
        vals_list = super().copy_data(default=default)
        if self._owned_privileged():
            return vals_list
        system = self._owned_system_fields() - set(default or ())
        return [{fname: value for fname, value in vals.items() if fname not in system} for vals in vals_list]

    # ------------------------------------------------------------------ month headings
    def _read_group_format_result(self, rows_dict, lazy_groupby):
        """Month and quarter headings of the add-on's lists, pivots and graphs in the reader's own
        pattern: Odoo writes every language with babel's fixed ``MMMM yyyy`` ("十一月 2026" in Chinese);
        the locale's CLDR pattern for a year and a month gives "2026年11月" (and "November 2026" in
        English, as before). Only the add-on's own models: Odoo's are left as Odoo shows them."""
        raw = {}
        if self._original_module == "auto_crm":
            for group in lazy_groupby:
                fname, _sep, granularity = group.partition(":")
                field = self._fields.get(fname.split(".")[0])
                if field and field.type in ("date", "datetime") and (granularity or "month") in PERIOD_SKELETONS:
                    raw[group] = (granularity or "month", [(row, row[group]) for row in rows_dict])
        result = super()._read_group_format_result(rows_dict, lazy_groupby)
        if raw:
            lang = get_lang(self.env).code
            labels = {}  # a few distinct periods for many groups (a year of months by 200 stores)
            for group, (granularity, pairs) in raw.items():
                for row, value in pairs:
                    if value and isinstance(value, datetime.date):
                        key = (value, granularity)
                        if key not in labels:
                            labels[key] = format_period(value, lang, granularity)
                        row[group] = labels[key]
        return result
