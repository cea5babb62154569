from odoo import api, fields, models

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
        "visit_id", "sequence", "line_type", "name", "part_number", "quantity", "unit_price", "discount",
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
    discount = fields.Float(string="Discount (%)", digits=(16, 2))
    subtotal = fields.Monetary(compute="_compute_subtotal", store=True, aggregator="sum")

    _sql_constraints = [
        ("quantity_positive", "CHECK(quantity > 0)", "Quantity must be greater than zero."),
        ("price_positive", "CHECK(unit_price >= 0)", "Unit Price cannot be negative."),
        ("discount_range", "CHECK(discount >= 0 AND discount <= 100)", "Discount (%) must be between 0 and 100."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, LINE_RANGES)
        self.env["auto_crm.service.visit"].browse(
            {vals["visit_id"] for vals in vals_list if vals.get("visit_id")}
        )._check_money_open()
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], LINE_RANGES)
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
