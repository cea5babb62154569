from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

AUDIT_STATES = [
    ("todo", "To Do"),
    ("done", "Done"),
    ("cancel", "Cancelled"),
]
AUDIT_OUTCOMES = [
    ("reached", "Customer reached"),
    ("unreached", "Customer not reached"),
]
#: Two scores (1 to 5) agree when they differ by at most this many points.
AGREEMENT_TOLERANCE = 1


class AutoCrmCallbackAudit(models.Model):
    """The audit of a done callback: another agent calls the customer again (回访抽查).

    A manager draws a random sample of done callbacks with the audit wizard; each sampled callback
    gets one audit, given to an agent who is never the callback's own. The auditor records the
    customer's answers again (the audit lines, one per question the original call scored; the
    original scores are shown to managers only, so the audit is blind) and whether the customer
    confirms the original call took place.

    Agreement, set when the audit is done: an audit whose customer was reached agrees with the
    original call when the customer confirms the call took place (the same success outcome: the
    original call is done, i.e. the customer was reached and answered) and every question scored in
    both calls differs by at most one point on the five-point scale. An audit whose customer was not
    reached says nothing about the original call: it is left out of the agreement rate. The
    agreement rate of an agent is the share of their audited calls that agree (the analysis's
    *Agreement (%)* grouped by *Original Agent*).

    The sample, the original call, its agent and scores, the seed and the agreement are the add-on's
    (auto_crm.owned.mixin); the auditor writes the outcome, the confirmation, the scores and a note
    while the audit is to do; managers re-assign it to another agent.
    """

    _name = "auto_crm.callback.audit"
    _description = "Callback Audit"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "user_id": ("auto_crm.group_manager",),
        "outcome": (),
        "customer_confirms_call": (),
        "note": (),
        "line_ids": (),
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "date_sampled desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Audit", readonly=True, copy=False)
    company_id = fields.Many2one("res.company", string="Store", required=True, readonly=True, index=True)
    state = fields.Selection(AUDIT_STATES, string="Status", required=True, default="todo", tracking=True, copy=False)
    callback_id = fields.Many2one(
        "auto_crm.callback",
        string="Audited Callback",
        required=True,
        readonly=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    partner_id = fields.Many2one(related="callback_id.partner_id", string="Customer")
    partner_mobile = fields.Char(related="callback_id.partner_mobile", string="Mobile")
    original_user_id = fields.Many2one(
        "res.users", string="Original Agent", readonly=True, index=True, help="The agent who made the audited call."
    )
    original_date_done = fields.Datetime(string="Original Call Done On", readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="Auditor",
        required=True,
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
        help="The agent who calls the customer again: never the original agent.",
    )
    date_sampled = fields.Datetime(string="Sampled On", readonly=True, default=fields.Datetime.now)
    sample_seed = fields.Integer(
        readonly=True, help="The seed of the random draw: the same seed draws the same sample."
    )
    outcome = fields.Selection(AUDIT_OUTCOMES, tracking=True)
    customer_confirms_call = fields.Boolean(
        string="Customer Confirms the Call",
        tracking=True,
        help="The customer confirms that the original call took place and answered it.",
    )
    note = fields.Text(string="Audit Notes")
    line_ids = fields.One2many("auto_crm.callback.audit.line", "audit_id", string="Answers")
    date_done = fields.Datetime(string="Audited On", readonly=True, copy=False)
    agrees = fields.Boolean(
        readonly=True,
        copy=False,
        help="Set when the audit is done: the customer was reached, confirms the original call, and every "
        "question scored in both calls differs by at most one point.",
    )
    max_difference = fields.Integer(
        string="Largest Difference",
        readonly=True,
        copy=False,
        aggregator="max",
        help="The largest difference, in points, between an original score and the audit's.",
    )
    counted = fields.Boolean(
        string="Counts in the Agreement Rate",
        readonly=True,
        copy=False,
        help="A done audit whose customer was reached.",
    )
    agreement_rate = fields.Float(
        string="Agreement (%)",
        readonly=True,
        copy=False,
        aggregator="avg",
        digits=(5, 1),
        help="100 for an audit that agrees with the original call, 0 for one that does not, empty when it does not "
        "count (not done, or the customer not reached). Averaged: the share of audited calls that agree.",
    )

    _sql_constraints = [
        (
            "auto_crm_callback_audit_one_open",
            "EXCLUDE USING btree (callback_id WITH =) WHERE (state != 'cancel')",
            "Audited Callback: this callback already has an audit.",
        ),
    ]

    @api.model
    def _read_group_select(self, aggregate_spec, query):
        # The agreement rate of a group: the agreeing audits among those that count (a disagreeing audit's 0
        # and an uncounted audit's empty value are the same cached 0.0 to the ORM, so not an average).
        if aggregate_spec == "agreement_rate:avg":
            agrees, counted = SQL.identifier(self._table, "agrees"), SQL.identifier(self._table, "counted")
            return SQL(
                "100.0 * COUNT(*) FILTER (WHERE %s AND %s) / NULLIF(COUNT(*) FILTER (WHERE %s), 0)",
                counted,
                agrees,
                counted,
            )
        return super()._read_group_select(aggregate_spec, query)

    # ------------------------------------------------------------------ checks
    @api.constrains("user_id", "original_user_id")
    def _check_auditor(self):
        for audit in self:
            if audit.user_id and audit.user_id == audit.original_user_id:
                raise ValidationError(
                    _(
                        "Auditor: %(user)s made the audited call %(call)s; another agent audits it.",
                        user=audit.user_id.name,
                        call=audit.callback_id.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        audits = super().create(vals_list)
        for audit in audits:
            if audit.callback_id.state != "done":
                raise ValidationError(
                    _(
                        "Audited Callback: %s is not done; only done callbacks are audited.",
                        audit.callback_id.display_name,
                    )
                )
            audit.sudo().write(
                {
                    "name": _("Audit of %s", audit.callback_id.display_name),
                    "original_user_id": audit.callback_id.user_id.id,
                    "original_date_done": audit.callback_id.date_done,
                }
            )
        audits._check_auditor()
        return audits

    def write(self, vals):
        if not self._owned_privileged():
            closed = self.filtered(lambda audit: audit.state != "todo")
            if closed:
                raise UserError(
                    _("%s: a done or cancelled audit is kept as it is.", ", ".join(closed.mapped("display_name")))
                )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_cancelled(self):
        kept = self.filtered(lambda audit: audit.state == "done")
        if kept:
            raise UserError(
                _("%s: a done audit is kept; it counts in the agreement rate.", ", ".join(kept.mapped("name")))
            )

    # ------------------------------------------------------------------ buttons
    def action_done(self):
        for audit in self:
            if audit.state != "todo":
                raise UserError(_("%s: only an audit to do can be closed.", audit.display_name))
            if self.env.user != audit.user_id and not self.env.user.has_group("auto_crm.group_manager"):
                raise UserError(_("%s: only its auditor or a manager closes an audit.", audit.display_name))
            if not audit.outcome:
                raise UserError(
                    _("Outcome: say whether the customer was reached before closing %s.", audit.display_name)
                )
            counted = audit.outcome == "reached"
            differences = [
                abs(int(line.score) - line.original_score_value)
                for line in audit.line_ids.sudo()
                if line.score and line.original_score_value
            ]
            max_difference = max(differences, default=0)
            agrees = counted and audit.customer_confirms_call and max_difference <= AGREEMENT_TOLERANCE
            audit._owned_write(
                {
                    "state": "done",
                    "date_done": fields.Datetime.now(),
                    "counted": counted,
                    "agrees": agrees,
                    "max_difference": max_difference,
                    "agreement_rate": (100.0 if agrees else 0.0) if counted else False,
                }
            )

    def action_cancel(self):
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise UserError(_("Only managers cancel an audit."))
        for audit in self:
            if audit.state != "todo":
                raise UserError(_("%s: only an audit to do can be cancelled.", audit.display_name))
        self._owned_write({"state": "cancel"})
