from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib.workflow import SUDO
from .auto_crm_owned_mixin import _OWNER_TOKEN as _STAMP_TOKEN
from .auto_crm_owned_mixin import OWNER_KEY as STAMP_KEY

# The workflow writes its stamps under the field owners' private key (auto_crm.owned.mixin).
__all__ = ["STAMP_KEY", "_STAMP_TOKEN"]


class AutoCrmWorkflowMixin(models.AbstractModel):
    """One workflow mechanism for every stateful Dealer CRM record.

    A model inherits it, defines its ``state`` selection field (with
    ``group_expand="_group_expand_states"``) and declares data only:

    - ``_workflow_transitions``: ``{(from, to): (button, group_xmlids)}`` (from ``lib/workflow.py``);
    - ``_workflow_initial_states``: the states a record may be created in;
    - ``_workflow_stamps``: ``{state: field}``, the date stamped (overwritten) on entering a state;
    - ``_workflow_first_stamps``: ``{state: fields}``, dates stamped on entering only if still empty;
    - ``_workflow_signatures``: ``{state: field}``, the user who moved the record there;
    - ``_workflow_counters``: ``{(from, to): field}``, incremented on that move;
    - ``_workflow_clear``: ``{state or (from, to): fields}``, emptied on moving into the state / on
      that move (not on creation);
    - ``_workflow_protected``: more fields only the add-on's code sets;
    - ``_workflow_kanban_hidden``: states without a kanban column when empty;
    - ``_workflow_kanban_folded``: states whose kanban column is folded (closed work: the column
      shows its count and loads no cards until the user opens it).

    And, where needed, the hooks ``_workflow_check(old, new, vals)`` (business preconditions,
    raise to refuse), ``_on_enter_state(state)`` (side effects, after the write, for the records
    that moved) and the message hooks ``_workflow_refused_message`` / ``_workflow_denied_message``
    / ``_workflow_initial_message``.

    Every write of ``state``, whoever makes it (a button, a kanban drag, an import, RPC, sudo),
    goes through the table: a pair that is not in it is refused with a UserError, even under
    sudo; a pair whose groups the user lacks is refused with an AccessError, except under sudo
    (add-on code that checked already). Stamps, signatures and counters are written by the mixin
    under a private context key; anyone else writing them, superuser code aside, gets a UserError.
    """

    _name = "auto_crm.workflow.mixin"
    _description = "Dealer CRM Workflow"

    _workflow_transitions = {}
    _workflow_initial_states = ()
    _workflow_stamps = {}
    _workflow_first_stamps = {}
    _workflow_signatures = {}
    _workflow_counters = {}
    _workflow_clear = {}
    _workflow_protected = ()
    _workflow_kanban_hidden = ()
    _workflow_kanban_folded = ()

    # ------------------------------------------------------------------ data helpers
    @classmethod
    def _workflow_protected_fields(cls):
        """The fields only the workflow (or superuser code) writes."""
        names = set(cls._workflow_protected)
        names.update(cls._workflow_stamps.values())
        for fnames in cls._workflow_first_stamps.values():
            names.update(fnames)
        names.update(cls._workflow_signatures.values())
        names.update(cls._workflow_counters.values())
        return names

    def _workflow_state_label(self, state):
        return dict(self._fields["state"]._description_selection(self.env)).get(state, state)

    def _workflow_record_name(self):
        return self.display_name

    def _workflow_privileged(self):
        """Whether this environment may write the protected fields: the mixin's own stamp writes,
        or superuser code (the add-on's jobs, data files)."""
        return self.env.su or self.env.context.get(STAMP_KEY) == _STAMP_TOKEN

    def _workflow_write(self, vals):
        """Write ``vals`` as the workflow: protected fields allowed; a ``state`` still goes through
        the table."""
        return self.with_context(**{STAMP_KEY: _STAMP_TOKEN}).write(vals)

    # ------------------------------------------------------------------ kanban
    @api.model
    def _group_expand_states(self, states, domain):
        return [
            code
            for code, _label in self._fields["state"]._description_selection(self.env)
            if code not in self._workflow_kanban_hidden
        ]

    @api.model
    def _read_group_fill_results(self, domain, groupby, annoted_aggregates, read_group_result, read_group_order=None):
        """Fold the closed stages' columns. Odoo marks a group folded with ``__fold`` (what the web
        client's kanban reads), but only for many2one groups whose comodel has a ``fold`` field; the
        state selection gets the same key here, where Odoo sets it."""
        result = super()._read_group_fill_results(
            domain, groupby, annoted_aggregates, read_group_result, read_group_order=read_group_order
        )
        if groupby == "state" and self._workflow_kanban_folded:
            # Only the folded ones: a group without the key keeps the view's default (kanban
            # columns open, list groups closed).
            for line in result:
                if line["state"] in self._workflow_kanban_folded:
                    line["__fold"] = True
        return result

    # ------------------------------------------------------------------ messages (override to word them)
    def _workflow_refused_message(self, old, new):
        return _(
            "%(stage)s: %(record)s cannot go from %(old)s to %(new)s.",
            stage=self._fields["state"].get_description(self.env)["string"],
            record=self._workflow_record_name(),
            old=self._workflow_state_label(old),
            new=self._workflow_state_label(new),
        )

    def _workflow_denied_message(self, old, new):
        button, groups = self._workflow_transitions[(old, new)]
        stage = self._fields["state"].get_description(self.env)["string"]
        if SUDO in groups:
            return _(
                "%(stage)s: only the Dealer CRM itself takes %(record)s from %(old)s to %(new)s (%(button)s).",
                stage=stage,
                record=self._workflow_record_name(),
                old=self._workflow_state_label(old),
                new=self._workflow_state_label(new),
                button=button,
            )
        names = [self.env.ref(xmlid).name for xmlid in groups]
        return _(
            "%(stage)s: taking %(record)s from %(old)s to %(new)s (%(button)s) is for %(groups)s.",
            stage=stage,
            record=self._workflow_record_name(),
            old=self._workflow_state_label(old),
            new=self._workflow_state_label(new),
            button=button,
            groups=", ".join(names),
        )

    def _workflow_initial_message(self, state):
        return _(
            "%(stage)s: a new %(model)s starts at %(states)s, not at %(state)s.",
            stage=self._fields["state"].get_description(self.env)["string"],
            model=self._description,
            states=", ".join(self._workflow_state_label(s) for s in self._workflow_initial_states),
            state=self._workflow_state_label(state),
        )

    def _workflow_protected_message(self, fname):
        return _(
            "%(field)s: the workflow of %(model)s sets it when the record changes stage; it cannot be written "
            "directly.",
            field=self._fields[fname].get_description(self.env)["string"],
            model=self._description,
        )

    # ------------------------------------------------------------------ guard
    def _workflow_check_protected(self, fnames):
        if self._workflow_privileged():
            return
        for fname in sorted(self._workflow_protected_fields() & set(fnames)):
            raise UserError(self._workflow_protected_message(fname))

    def _workflow_check_transition(self, old, new, vals):
        """Refuse the move of this record from ``old`` to ``new`` unless the table has it, the user
        is in one of its groups (not checked under sudo) and the model's preconditions hold."""
        self.ensure_one()
        entry = self._workflow_transitions.get((old, new))
        if entry is None:
            raise UserError(self._workflow_refused_message(old, new))
        groups = entry[1]
        if SUDO in groups:
            # The add-on's own move, made by its code through _workflow_write after its checks: a
            # plain write is refused to everybody, superuser included.
            if self.env.context.get(STAMP_KEY) != _STAMP_TOKEN:
                raise AccessError(self._workflow_denied_message(old, new))
        elif groups and not self.env.su:
            if not any(self.env.user.has_group(xmlid) for xmlid in groups):
                raise AccessError(self._workflow_denied_message(old, new))
        self._workflow_check(old, new, vals)

    def _workflow_check(self, old, new, vals):
        """Business preconditions of moving this record from ``old`` to ``new`` with ``vals``
        (the values written with the state). Raise to refuse. Override."""

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        default_state = None
        for vals in vals_list:
            self._workflow_check_protected(vals)
            state = vals.get("state")
            if not state:
                if default_state is None:
                    default_state = self.default_get(["state"]).get("state") or False
                state = default_state
            if state not in self._workflow_initial_states:
                raise UserError(self._workflow_initial_message(state))
        records = super().create(vals_list)
        for state in dict.fromkeys(records.mapped("state")):
            moved = records.filtered(lambda r, s=state: r.state == s)
            moved._workflow_enter(state, dict.fromkeys(moved.ids, False))
        return records

    def write(self, vals):
        self._workflow_check_protected(vals)
        if "state" not in vals:
            return super().write(vals)
        new = vals["state"]
        moving = self.filtered(lambda r: r.state != new)
        old_states = {record.id: record.state for record in moving}
        for record in moving:
            record._workflow_check_transition(record.state, new, vals)
        result = super().write(vals)
        moving._workflow_enter(new, old_states)
        return result

    # ------------------------------------------------------------------ entering a state
    def _workflow_enter(self, new, old_states):
        """Clear, count, stamp and sign what the tables say for the records that entered ``new``
        (``old_states``: {id: previous state}, False on creation), then run ``_on_enter_state``."""
        if not self:
            return
        now = fields.Datetime.now()
        batches = {}
        for record in self:
            pair = (old_states.get(record.id), new)
            vals = {}
            # A record created in a state keeps what it was created with: clears are for moves.
            for key in (new, pair) if pair[0] else ():
                for fname in self._workflow_clear.get(key, ()):
                    if record[fname]:
                        vals[fname] = False
            counter = self._workflow_counters.get(pair)
            if counter:
                vals[counter] = record[counter] + 1
            stamp = self._workflow_stamps.get(new)
            if stamp:
                vals[stamp] = now
            for fname in self._workflow_first_stamps.get(new, ()):
                if not record[fname]:
                    vals[fname] = now
            signature = self._workflow_signatures.get(new)
            if signature:
                vals[signature] = self.env.user.id
            if vals:
                batches.setdefault(tuple(sorted(vals.items())), []).append(record.id)
        for items, ids in batches.items():
            self.browse(ids)._workflow_write(dict(items))
        self._on_enter_state(new)

    def _on_enter_state(self, state):
        """Side effects of entering ``state``, after it is written and stamped, for every record
        that moved (or was created in it). Override."""
