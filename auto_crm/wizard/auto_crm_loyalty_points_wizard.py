from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.input_limits import check_vals


class AutoCrmLoyaltyPointsWizard(models.TransientModel):
    _name = "auto_crm.loyalty.points.wizard"
    _description = "Redeem or Adjust Loyalty Points"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "operation",
        "member_id",
        "visit_id",
        "points",
        "reason",
    }

    operation = fields.Selection(
        [("redeem", "Redeem against a visit"), ("adjust", "Manager adjustment")], required=True, default="redeem"
    )
    member_id = fields.Many2one("auto_crm.loyalty.member", required=True)
    visit_id = fields.Many2one("auto_crm.service.visit", string="Service Visit")
    points_balance = fields.Integer(related="member_id.points_balance", string="Points Available")
    currency_id = fields.Many2one(related="member_id.currency_id")
    amount_due = fields.Monetary(related="visit_id.amount_due")
    points = fields.Integer(
        required=True, help="Redeem: points to use. Adjustment: points to add, or a negative number to take."
    )
    value = fields.Monetary(compute="_compute_value", string="Worth")
    reason = fields.Char(help="Required for adjustments: why the points are changed.")

    @api.model_create_multi
    def create(self, vals_list):
        # Points beyond PostgreSQL's integer fail the INSERT itself: refuse them with the field's label.
        check_vals(self, vals_list)
        return super().create(vals_list)

    @api.depends("points", "member_id")
    def _compute_value(self):
        for wizard in self:
            wizard.value = wizard.points * wizard.member_id.sudo().program_id.point_value

    @api.onchange("points")
    def _onchange_points_balance(self):
        """Warn while typing, in the words of the refusal: the balance first, then the amount due."""
        if self.operation != "redeem" or self.points <= 0:
            return None
        if self.points > self.points_balance:
            message = _(
                "The customer has %(balance)s points available (Points Available), fewer than the %(points)s "
                "points typed.",
                balance=self.points_balance,
                points=self.points,
            )
        elif self.visit_id and self.currency_id.compare_amounts(self.value, self.amount_due) > 0:
            message = _(
                "%(points)s points are worth %(value)s, more than the %(due)s left to pay (Amount Due).",
                points=self.points,
                value=self.visit_id._money(self.value),
                due=self.visit_id._money(self.amount_due),
            )
        else:
            return None
        return {"warning": {"title": _("Points"), "message": message}}

    def action_confirm(self):
        self.ensure_one()
        if self.operation == "redeem":
            if not self.visit_id:
                raise UserError(_("Service Visit: points are redeemed against a visit."))
            if self.visit_id.loyalty_member_id != self.member_id:
                raise UserError(
                    _("Member: the card of %s is not the visit's customer's card.", self.member_id.display_name)
                )
            self.visit_id._loyalty_redeem(self.points)
        else:
            self.member_id.action_adjust(self.points, self.reason)
        return {"type": "ir.actions.act_window_close"}
