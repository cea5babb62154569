from odoo import _, api, fields, models
from odoo.exceptions import UserError

ENTRY_KINDS = [
    ("earn", "Earned"),
    ("redeem", "Redeemed"),
    ("expire", "Expired"),
    ("adjust", "Adjustment"),
]


class AutoCrmLoyaltyLedger(models.Model):
    """Append-only points ledger: a member's balance is the sum of its entries.

    Nothing posted is ever changed or deleted. A mistake is corrected by a reversing entry: the same
    kind, the opposite points, ``reversal_of_id`` pointing at the entry it cancels. Database
    indexes make "exactly once" hold even for concurrent transactions:

    * an entry is reversed at most once (unique ``reversal_of_id``);
    * a visit's n-th delivery earns at most once (unique ``visit_id, visit_seq`` among earnings);
    * a member's points expire at most once a day (unique ``member_id, date`` among expiries).
    """

    _name = "auto_crm.loyalty.ledger"
    _description = "Loyalty Points Ledger Entry"
    _order = "date desc, id desc"
    _check_company_auto = True

    member_id = fields.Many2one(
        "auto_crm.loyalty.member", string="Member", required=True, ondelete="restrict", index=True, readonly=True
    )
    partner_id = fields.Many2one(related="member_id.partner_id", store=True, string="Customer", index=True)
    program_id = fields.Many2one(related="member_id.program_id", store=True, string="Programme")
    company_id = fields.Many2one(related="member_id.company_id", store=True, string="Store", index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(required=True, default=fields.Date.context_today, readonly=True, index=True)
    kind = fields.Selection(ENTRY_KINDS, required=True, readonly=True, index=True)
    points = fields.Integer(required=True, readonly=True, aggregator="sum")
    amount = fields.Monetary(
        readonly=True,
        help="Earned: the money paid the points were earned on. Redeemed: what the points were worth. A reversal carries the opposite amount.",
    )
    visit_id = fields.Many2one(
        "auto_crm.service.visit",
        string="Service Visit",
        readonly=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    visit_seq = fields.Integer(
        string="Delivery Number",
        readonly=True,
        help="For earnings: the how-many-th delivery of the visit this entry rewards.",
    )
    reversal_of_id = fields.Many2one(
        "auto_crm.loyalty.ledger", string="Reverses", readonly=True, index=True, ondelete="restrict"
    )
    reversed_by_ids = fields.One2many("auto_crm.loyalty.ledger", "reversal_of_id", string="Reversed By")
    is_reversed = fields.Boolean(compute="_compute_is_reversed", string="Reversed")
    reason = fields.Char(readonly=True)
    user_id = fields.Many2one("res.users", string="Posted By", default=lambda self: self.env.user, readonly=True)

    _sql_constraints = [
        ("auto_crm_loyalty_ledger_points_nonzero", "CHECK(points <> 0)", "Points: an entry moves at least one point."),
        (
            "auto_crm_loyalty_ledger_sign",
            "CHECK(kind = 'adjust' OR (reversal_of_id IS NULL AND ((kind = 'earn' AND points > 0) OR (kind IN ('redeem', 'expire') AND points < 0)))"
            " OR (reversal_of_id IS NOT NULL AND ((kind = 'earn' AND points < 0) OR (kind IN ('redeem', 'expire') AND points > 0))))",
            "Points: earnings are positive, redemptions and expiries negative, reversals the opposite.",
        ),
        (
            "auto_crm_loyalty_ledger_reversal_uniq",
            "unique(reversal_of_id)",
            "Points: an entry can be reversed only once.",
        ),
    ]

    def init(self):
        cr = self.env.cr
        cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_loyalty_ledger_earn_once "
            "ON auto_crm_loyalty_ledger (visit_id, visit_seq) WHERE kind = 'earn' AND reversal_of_id IS NULL"
        )
        cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_loyalty_ledger_expire_once "
            "ON auto_crm_loyalty_ledger (member_id, date) WHERE kind = 'expire' AND reversal_of_id IS NULL"
        )

    def _compute_is_reversed(self):
        reversed_ids = (
            set(self.sudo().search([("reversal_of_id", "in", self.ids)]).mapped("reversal_of_id").ids)
            if self.ids
            else set()
        )
        for entry in self:
            entry.is_reversed = entry.id in reversed_ids

    @api.depends("kind", "points", "member_id")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for entry in self:
            entry.display_name = (
                f"{entry.member_id.card_number or ''} {kinds.get(entry.kind, '')} {entry.points:+d}".strip()
            )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and not self.env.context.get("auto_crm_loyalty_post"):
            raise UserError(
                _(
                    "Points Ledger: entries are posted by the programme (visits, redemptions, expiry, a manager's "
                    "adjustment with a reason), not created by hand."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        raise UserError(_("Points Ledger: posted entries are never changed; correct a mistake with a reversing entry."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(_("Points Ledger: posted entries are never deleted; correct a mistake with a reversing entry."))

    def action_reverse(self):
        """A manager reverses entries (a wrong adjustment, say) with a reversing entry each."""
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise UserError(_("Points Ledger: only after-sales managers reverse entries."))
        for entry in self:
            if entry.reversal_of_id or entry.is_reversed:
                raise UserError(_("Points Ledger: %s is a reversal or already reversed.", entry.display_name))
        self.member_id._post_reversals(self, _("Reversed by %s", self.env.user.name))
        return True
