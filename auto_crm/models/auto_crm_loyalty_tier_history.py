from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.sql import create_index


class AutoCrmLoyaltyTierHistory(models.Model):
    _name = "auto_crm.loyalty.tier.history"
    _description = "Loyalty Tier Change"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _order = "date desc, id desc"
    _check_company_auto = True

    member_id = fields.Many2one("auto_crm.loyalty.member", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one(related="member_id.partner_id", store=True, string="Customer")
    company_id = fields.Many2one(related="member_id.company_id", store=True, string="Store", index=True)
    date = fields.Date(required=True, default=lambda self: self.env.company._auto_crm_today())
    old_tier_id = fields.Many2one("auto_crm.loyalty.tier", string="From Tier", ondelete="restrict")
    new_tier_id = fields.Many2one("auto_crm.loyalty.tier", string="To Tier", required=True, ondelete="restrict")
    direction = fields.Selection([("up", "Upgrade"), ("down", "Downgrade")], required=True)
    metric = fields.Float(string="Qualifying Value", help="Points earned or money paid over the qualification period.")
    reason = fields.Char(required=True)

    def init(self):
        # A member's tier history and the history list, in their order.
        create_index(
            self.env.cr,
            "auto_crm_loyalty_tier_history_member_date_idx",
            self._table,
            ["member_id", "date DESC", "id DESC"],
        )
        create_index(self.env.cr, "auto_crm_loyalty_tier_history_date_idx", self._table, ["date DESC", "id DESC"])

    @api.depends("member_id", "new_tier_id", "date")
    def _compute_display_name(self):
        for change in self:
            change.display_name = (
                f"{change.member_id.card_number or ''} → {change.new_tier_id.name or ''} ({change.date})"
            )

    # Append-only: nobody edits a recorded change, so there is no super() to call.
    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(_("Tier History: a recorded tier change is never edited."))
