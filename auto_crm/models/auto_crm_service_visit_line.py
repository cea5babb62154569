from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .input_limits import check_vals

LINE_TYPES = [("labour", "Labour"), ("part", "Part")]
#: What a line's numbers may be; NaN and infinity are refused by check_vals whatever the range. A negative
#: price or a quantity of 0 is left to the SQL constraints below (tests/test_service_visit.py expects them).
LINE_RANGES = {"discount": (0, 100)}


class AutoCrmServiceVisitLine(models.Model):
    _name = "auto_crm.service.visit.line"
    _description = "Service Visit Line"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "visit_id",
        "sequence",
        "line_type",
        "name",
        "part_number",
        "quantity",
        "unit_price",
        "discount",
    }
    _order = "visit_id, sequence, id"
    _check_company_auto = True

    visit_id = fields.Many2one("auto_crm.service.visit", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="visit_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="visit_id.currency_id")
    sequence = fields.Integer(default=10)
    line_type = fields.Selection(LINE_TYPES, string="Type", required=True, default="labour")
    name = fields.Char(string="Description", required=True)
    part_number = fields.Char(help="Manufacturer part number of a replaced part.")
    quantity = fields.Float(default=1.0, digits=(16, 2), required=True)
    unit_price = fields.Monetary(required=True, default=0.0)
    discount = fields.Float(
        string="Discount (%)",
        digits=(16, 2),
        compute="_compute_discount",
        store=True,
        readonly=False,
        precompute=True,
        help="The member discount of the customer's loyalty tier on labour or parts; only after-sales "
        "managers change it.",
    )
    subtotal = fields.Monetary(compute="_compute_subtotal", store=True, aggregator="sum")

    _sql_constraints = [
        ("quantity_positive", "CHECK(quantity > 0)", "Quantity must be greater than zero."),
        ("price_positive", "CHECK(unit_price >= 0)", "Unit Price cannot be negative."),
        ("discount_range", "CHECK(discount >= 0 AND discount <= 100)", "Discount (%) must be between 0 and 100."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, LINE_RANGES)
        self._check_discount_override(
            [
                (self.env["auto_crm.service.visit"].browse(vals.get("visit_id")), vals.get("line_type", "labour"), vals)
                for vals in vals_list
            ],
            "create",
        )
        self.env["auto_crm.service.visit"].browse(
            {vals["visit_id"] for vals in vals_list if vals.get("visit_id")}
        )._check_money_open()
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], LINE_RANGES)
        if "discount" in vals:
            visit = self.env["auto_crm.service.visit"].browse(vals["visit_id"]) if vals.get("visit_id") else None
            self._check_discount_override(
                [(visit or line.visit_id, vals.get("line_type", line.line_type), vals) for line in self], "write"
            )
        visits = self.visit_id
        if vals.get("visit_id"):
            visits |= visits.browse(vals["visit_id"])
        visits._check_money_open()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_delivered(self):
        self.visit_id._check_money_open()

    @api.depends("quantity", "unit_price", "discount", "currency_id")
    def _compute_subtotal(self):
        for line in self:
            amount = line.quantity * line.unit_price * (1 - (line.discount or 0.0) / 100.0)
            line.subtotal = line.currency_id.round(amount) if line.currency_id else amount

    # ------------------------------------------------------------------ member discount
    discount_editable = fields.Boolean(
        compute="_compute_discount_editable",
        help="After-sales managers change a line's discount; for everyone else it is the member discount.",
    )

    @api.depends_context("uid")
    def _compute_discount_editable(self):
        editable = self.env.user.has_group("auto_crm.group_manager")
        for line in self:
            line.discount_editable = editable

    @api.depends("line_type", "visit_id.partner_id", "visit_id.company_id")
    def _compute_discount(self):
        """A line takes the member discount of the customer's tier (labour or parts); the lines of a
        delivered or cancelled visit keep theirs (their money is closed)."""
        for line in self:
            if line.visit_id.state in ("followup", "cancel"):
                line.discount = line.discount
            else:
                line.discount = self._member_discount(line.visit_id, line.line_type)

    @api.model
    def _member_discount(self, visit, line_type):
        """The discount (%) the loyalty tier of the visit's customer gives on a line of this type."""
        tier = visit.loyalty_tier_id.sudo() if visit else None
        if not tier:
            return 0.0
        return tier.labour_discount if line_type == "labour" else tier.parts_discount

    def _check_discount_override(self, triples, operation):
        """Only after-sales managers set a discount other than the member discount: ``triples`` are
        (visit, line type, values) of the lines about to be written."""
        if self.env.su or self._owned_privileged() or self.env.user.has_group("auto_crm.group_manager"):
            return
        triples = [(visit, line_type, vals) for visit, line_type, vals in triples if "discount" in vals]
        if not triples:
            return
        self.check_access(operation)
        for visit, line_type, vals in triples:
            expected = self._member_discount(visit, line_type)
            if float_compare(float(vals["discount"] or 0.0), expected, precision_digits=2):
                tier = visit.loyalty_tier_id.sudo() if visit else None
                raise UserError(
                    _(
                        "Discount (%%): %(value)s%% is not the member discount of %(customer)s (%(tier)s: "
                        "%(expected)s%%); only after-sales managers change a line's discount.",
                        value=format(float(vals["discount"] or 0.0), "g"),
                        customer=visit.partner_id.display_name if visit else "-",
                        tier=tier.name if tier else _("no member tier"),
                        expected=format(expected, "g"),
                    )
                )
