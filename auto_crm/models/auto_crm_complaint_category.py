from odoo import api, fields, models

from .input_limits import check_vals


class AutoCrmComplaintCategory(models.Model):
    _name = "auto_crm.complaint.category"
    _description = "Complaint Category"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "sequence",
        "active",
        "description",
        "company_id",
    }
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True, size=128)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one(
        "res.company", string="Store", index=True, help="Leave empty to share the category across the group."
    )
    complaint_count = fields.Integer(compute="_compute_complaint_count", string="Complaints")

    _sql_constraints = [
        ("auto_crm_complaint_category_name_uniq", "unique(name, company_id)", "Name: a category of that name exists."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals])
        return super().write(vals)

    def _compute_complaint_count(self):
        counts = dict(
            self.env["auto_crm.complaint"]._read_group([("category_id", "in", self.ids)], ["category_id"], ["__count"])
        )
        for category in self:
            category.complaint_count = counts.get(category, 0)
