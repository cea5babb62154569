from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from .auto_crm_callback import OPEN_STATES as CALLBACK_OPEN_STATES

HANDOVER_MODES = [
    ("spread", "Spread evenly among the successors"),
    ("one", "All to one successor"),
]
#: What a handover moves: (kind, label).
HANDOVER_KINDS = [
    ("customer", "Customer"),
    ("callback", "Open Callback"),
    ("complaint", "Open Complaint"),
]


class AutoCrmStaffHandover(models.Model):
    """A leaving employee's customers (customer manager), open callbacks and open complaints handed over
    to successors by a store manager, in one go: the record of what moved, from whom to whom. Append-only:
    made by the handover wizard's code, never changed or deleted by anyone."""

    _name = "auto_crm.staff.handover"
    _description = "Staff Handover"
    _inherit = ["auto_crm.owned.mixin", "mail.thread"]
    #: Fields a person writes (auto_crm.owned.mixin): none, the wizard's code writes the record.
    _user_fields = ()
    _order = "date desc, id desc"
    _check_company_auto = True

    company_id = fields.Many2one("res.company", string="Store", required=True, readonly=True, index=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    user_id = fields.Many2one(
        "res.users", string="Leaving Employee", required=True, readonly=True, index=True, ondelete="restrict"
    )
    manager_id = fields.Many2one(
        "res.users", string="Handed Over By", required=True, readonly=True, ondelete="restrict"
    )
    mode = fields.Selection(HANDOVER_MODES, required=True, readonly=True)
    successor_ids = fields.Many2many("res.users", string="Successors", readonly=True)
    reason = fields.Char(readonly=True, size=256)
    line_ids = fields.One2many("auto_crm.staff.handover.line", "handover_id", string="Moves", readonly=True)
    customer_count = fields.Integer(string="Customers", readonly=True)
    callback_count = fields.Integer(string="Open Callbacks", readonly=True)
    complaint_count = fields.Integer(string="Open Complaints", readonly=True)
    skipped_count = fields.Integer(
        string="Skipped",
        readonly=True,
        help="Lines not handed over: a callback whose only possible successor was the service advisor of its "
        "visit (callbacks are made by someone independent of the visit).",
    )

    @api.depends("user_id", "date")
    def _compute_display_name(self):
        for handover in self:
            handover.display_name = _(
                "Handover of %(user)s on %(date)s",
                user=handover.user_id.name or "",
                date=fields.Date.to_string(fields.Datetime.context_timestamp(handover, handover.date))
                if handover.date
                else "",
            )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(_("Staff Handover: handovers are recorded by the handover wizard, not created by hand."))
        return super().create(vals_list)

    # Append-only: no super() on purpose, nothing recorded is ever changed.
    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(_("Staff Handover: a recorded handover is never changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(_("Staff Handover: a recorded handover is never deleted."))

    # ------------------------------------------------------------------ the work
    @api.model
    def _check_manager_of(self, company):
        """Only a manager of the store (its after-sales manager, or a dealer administrator) hands over."""
        user = self.env.user
        if not user.has_group("auto_crm.group_manager") or company not in user.company_ids:
            raise AccessError(_("Staff Handover: only a manager of %s hands over an employee's work.", company.name))

    @api.model
    def _open_work(self, company, user):
        """What ``user`` holds at ``company``: (customers, open callbacks, open complaints)."""
        env = self.env
        customers = (
            env["res.partner"]
            .sudo()
            .search(
                [
                    ("auto_customer_manager_id", "=", user.id),
                    ("company_id", "in", [company.id, False]),
                ],
                order="id",
            )
        )
        callbacks = (
            env["auto_crm.callback"]
            .sudo()
            .search(
                [("user_id", "=", user.id), ("company_id", "=", company.id), ("state", "in", CALLBACK_OPEN_STATES)],
                order="id",
            )
        )
        complaints = (
            env["auto_crm.complaint"]
            .sudo()
            .search(
                [("user_id", "=", user.id), ("company_id", "=", company.id), ("state", "!=", "closed")],
                order="id",
            )
        )
        return customers, callbacks, complaints

    @api.model
    def _hand_over(self, company, user, successors, mode, reason, kinds=("customer", "callback", "complaint")):
        """Move ``user``'s customers, open callbacks and open complaints at ``company`` to ``successors``
        (``mode`` "spread": in turn, in the order of the successors' ids; "one": all to the first) and record
        it. A callback is never handed to the service advisor of its visit: the next successor takes it, or
        when none can, it stays and is recorded as skipped. Private: the wizard checks the rights first."""
        self._check_manager_of(company)
        successors = successors.sorted("id")
        if mode == "one":
            successors = successors[:1]
        customers, callbacks, complaints = self._open_work(company, user)
        work = {"customer": customers, "callback": callbacks, "complaint": complaints}
        lines = []
        for kind in ("customer", "callback", "complaint"):
            if kind not in kinds:
                continue
            turn = 0
            for record in work[kind]:
                refused = record.sudo().visit_id.advisor_id if kind == "callback" else self.env["res.users"]
                taker = None
                for offset in range(len(successors)):
                    candidate = successors[(turn + offset) % len(successors)]
                    if candidate != refused:
                        taker = candidate
                        turn += offset + 1
                        break
                line = {"kind": kind, "from_user_id": user.id, f"{kind}_id": record.id}
                if taker is None:
                    line.update(
                        state="skipped",
                        note=_(
                            "%(user)s was the service advisor of %(visit)s and cannot do its callback; "
                            "assign it to someone independent of the visit.",
                            user=refused.name,
                            visit=record.sudo().visit_id.name,
                        ),
                    )
                else:
                    line.update(state="moved", to_user_id=taker.id)
                lines.append((record, taker, line))
        # The moves, as the add-on (the manager's rights were checked above): one write per successor and kind.
        for kind, field in (
            ("customer", "auto_customer_manager_id"),
            ("callback", "user_id"),
            ("complaint", "user_id"),
        ):
            by_taker = {}
            for record, taker, line in lines:
                if line["kind"] == kind and taker:
                    by_taker[taker] = by_taker.get(taker, record.browse()) | record
            for taker, records in by_taker.items():
                records.sudo().write({field: taker.id})
        counts = {kind: sum(1 for _r, t, line in lines if line["kind"] == kind and t) for kind in work}
        handover = self.sudo().create(
            {
                "company_id": company.id,
                "user_id": user.id,
                "manager_id": self.env.user.id,
                "mode": mode,
                "successor_ids": [(6, 0, successors.ids)],
                "reason": reason,
                "customer_count": counts["customer"],
                "callback_count": counts["callback"],
                "complaint_count": counts["complaint"],
                "skipped_count": sum(1 for _r, taker, _line in lines if not taker),
                "line_ids": [(0, 0, line) for _record, _taker, line in lines],
            }
        )
        handover.message_post(
            body=_(
                "%(manager)s handed over the work of %(user)s: %(customers)s customers, %(callbacks)s open "
                "callbacks, %(complaints)s open complaints; %(skipped)s skipped.",
                manager=self.env.user.name,
                user=user.name,
                customers=counts["customer"],
                callbacks=counts["callback"],
                complaints=counts["complaint"],
                skipped=handover.skipped_count,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return handover
