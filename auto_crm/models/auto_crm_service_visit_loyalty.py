from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

#: Stages at which points can still be redeemed against a visit.
REDEEMABLE_STATES = ("appointment", "reception", "repair", "inspection", "delivery")


class AutoCrmServiceVisit(models.Model):
    _inherit = "auto_crm.service.visit"

    loyalty_member_id = fields.Many2one(
        "auto_crm.loyalty.member", compute="_compute_loyalty", string="Member Card", compute_sudo=True
    )
    loyalty_tier_id = fields.Many2one(
        "auto_crm.loyalty.tier", compute="_compute_loyalty", string="Member Tier", compute_sudo=True
    )
    loyalty_benefits = fields.Char(compute="_compute_loyalty", string="Member Benefits", compute_sudo=True)
    loyalty_points_balance = fields.Integer(compute="_compute_loyalty", string="Points Available", compute_sudo=True)
    loyalty_points_redeemed = fields.Integer(
        compute="_compute_loyalty_visit", string="Points Redeemed", compute_sudo=True
    )
    loyalty_redeemed_value = fields.Monetary(
        compute="_compute_loyalty_visit", string="Paid with Points", compute_sudo=True
    )
    loyalty_points_earned = fields.Integer(compute="_compute_loyalty_visit", string="Points Earned", compute_sudo=True)
    amount_due = fields.Monetary(compute="_compute_loyalty_visit", string="Amount Due", compute_sudo=True)

    @api.depends("partner_id", "company_id")
    def _compute_loyalty(self):
        Member = self.env["auto_crm.loyalty.member"]
        members = Member.search([("partner_id", "in", self.partner_id.ids), ("company_id", "in", self.company_id.ids)])
        for visit in self:
            member = members.filtered(lambda m, v=visit: m.partner_id == v.partner_id and m.company_id == v.company_id)[
                :1
            ]
            visit.loyalty_member_id = member
            visit.loyalty_tier_id = member.tier_id
            visit.loyalty_benefits = member.tier_benefits
            visit.loyalty_points_balance = member.points_balance

    @api.depends("amount_total", "amount_paid")
    def _compute_loyalty_visit(self):
        Ledger = self.env["auto_crm.loyalty.ledger"]
        sums = {
            (visit, kind): (points, amount)
            for visit, kind, points, amount in Ledger._read_group(
                [("visit_id", "in", self._origin.ids)], ["visit_id", "kind"], ["points:sum", "amount:sum"]
            )
        }
        for visit in self:
            origin = visit._origin
            # A reversal flips both the points and the amount of what it reverses: sums are net.
            redeemed, value = sums.get((origin, "redeem"), (0, 0.0))
            earned, _amount = sums.get((origin, "earn"), (0, 0.0))
            visit.loyalty_points_redeemed = -redeemed
            visit.loyalty_redeemed_value = value
            visit.loyalty_points_earned = earned
            visit.amount_due = max(visit.amount_total - value, 0.0)

    @api.depends("amount_paid", "amount_total", "payment_method", "currency_id")
    def _compute_is_settled(self):
        """Settled when what was paid plus what points paid covers the total."""
        for visit in self:
            rounding = visit.currency_id.rounding or 0.01
            visit.is_settled = bool(visit.payment_method) and (
                float_compare(
                    visit.amount_paid + visit.loyalty_redeemed_value, visit.amount_total, precision_rounding=rounding
                )
                >= 0
            )

    def action_settle(self):
        result = super().action_settle()
        for visit in self.filtered("loyalty_redeemed_value"):
            visit.amount_paid = visit.amount_due
        return result

    def _on_enter_state(self, state):
        """Points follow the visit: delivered (follow-up) earns; back to settlement takes the earning
        back; cancelled returns the points redeemed on it. Each exactly once (see the ledger's indexes)."""
        result = super()._on_enter_state(state)
        if not self:
            return result
        Member = self.env["auto_crm.loyalty.member"]
        if state == "followup":
            Member._earn_for_visits(self)
        elif state == "delivery":
            Member._reverse_for_visits(self, ["earn"], _("Visit re-opened for settlement"))
        elif state == "cancel":
            Member._reverse_for_visits(self, ["earn", "redeem"], _("Visit cancelled"))
        return result

    def _loyalty_redeem(self, points):
        """Redeem points of the visit's customer against this visit."""
        self.ensure_one()
        if not self.env.user.has_group("auto_crm.group_advisor"):
            raise UserError(_("Points: only service advisors and managers redeem points against a visit."))
        self.check_access("write")
        if self.state not in REDEEMABLE_STATES:
            raise UserError(
                _("Points: points are redeemed before %s is delivered, and never on a cancelled visit.", self.name)
            )
        member = self.loyalty_member_id
        if not member:
            raise UserError(
                _("Member Card: %s is not a member of this store's programme.", self.partner_id.display_name)
            )
        value = points * member.program_id.point_value
        rounding = self.currency_id.rounding or 0.01
        if float_compare(self.loyalty_redeemed_value + value, self.amount_total, precision_rounding=rounding) > 0:
            raise UserError(
                _(
                    "Points: %(points)s points are worth %(value).2f, more than the %(due).2f left to pay on %(visit)s.",
                    points=points,
                    value=value,
                    due=self.amount_due,
                    visit=self.name,
                )
            )
        entry = member.sudo()._redeem(points, visit=self, reason=_("Redeemed on %s", self.name))
        self.invalidate_recordset(
            ["loyalty_points_redeemed", "loyalty_redeemed_value", "amount_due", "is_settled", "loyalty_points_balance"]
        )
        return entry

    def action_open_redeem(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Redeem Points"),
            "res_model": "auto_crm.loyalty.points.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_visit_id": self.id,
                "default_member_id": self.loyalty_member_id.id,
                "default_operation": "redeem",
            },
        }
