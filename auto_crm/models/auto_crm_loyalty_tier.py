from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .input_limits import check_vals

#: A tier's numbers (NaN and infinity are refused whatever the range).
TIER_RANGES = {"threshold": (0, None), "labour_discount": (0, 100), "parts_discount": (0, 100)}


class AutoCrmLoyaltyTier(models.Model):
    _name = "auto_crm.loyalty.tier"
    _description = "Loyalty Tier"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "program_id",
        "active",
        "threshold",
        "labour_discount",
        "parts_discount",
        "free_services",
        "priority_booking",
        "color",
    }
    _order = "program_id, threshold, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    program_id = fields.Many2one(
        "auto_crm.loyalty.program",
        string="Programme",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="program_id.company_id", store=True, string="Store", index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    active = fields.Boolean(default=True)
    threshold = fields.Float(
        required=True,
        default=0.0,
        help="Points earned, or money paid (see the programme), over the qualification period from "
        "which a member reaches this tier. The tier with threshold 0 is where members start.",
    )
    labour_discount = fields.Float(string="Labour Discount (%)", digits=(5, 2))
    parts_discount = fields.Float(string="Parts Discount (%)", digits=(5, 2))
    free_services = fields.Char(translate=True, help="E.g. free car wash at every visit, a free yearly check.")
    priority_booking = fields.Boolean()
    color = fields.Integer()
    member_count = fields.Integer(compute="_compute_member_count", string="Members")

    _sql_constraints = [
        (
            "auto_crm_loyalty_tier_threshold_uniq",
            "unique(program_id, threshold)",
            "Two tiers of a programme cannot share a threshold.",
        ),
        (
            "auto_crm_loyalty_tier_discounts",
            "CHECK(labour_discount BETWEEN 0 AND 100 AND parts_discount BETWEEN 0 AND 100 AND threshold >= 0)",
            "Discounts are percentages between 0 and 100 and thresholds cannot be negative.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, TIER_RANGES)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], TIER_RANGES)
        return super().write(vals)

    @api.constrains("labour_discount", "parts_discount", "threshold")
    def _check_values(self):
        for tier in self:
            if not (0 <= tier.labour_discount <= 100 and 0 <= tier.parts_discount <= 100):
                raise ValidationError(
                    _("Labour Discount: discounts are percentages between 0 and 100 (%s).", tier.name)
                )
            if tier.threshold < 0:
                raise ValidationError(_("Threshold: cannot be negative (%s).", tier.name))

    def _compute_member_count(self):
        counts = dict(
            self.env["auto_crm.loyalty.member"]._read_group([("tier_id", "in", self.ids)], ["tier_id"], ["__count"])
        )
        for tier in self:
            tier.member_count = counts.get(tier, 0)

    def _benefits_text(self):
        self.ensure_one()
        parts = []
        if self.labour_discount:
            parts.append(_("labour -%s%%", format(self.labour_discount, "g")))
        if self.parts_discount:
            parts.append(_("parts -%s%%", format(self.parts_discount, "g")))
        if self.free_services:
            parts.append(self.free_services)
        if self.priority_booking:
            parts.append(_("priority booking"))
        return ", ".join(parts)
