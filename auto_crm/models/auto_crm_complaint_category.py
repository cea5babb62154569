from odoo import fields, models


class AutoCrmComplaintCategory(models.Model):
    _name = "auto_crm.complaint.category"
    _description = "Complaint Category"
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True)
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

    def _compute_complaint_count(self):
        counts = dict(
            self.env["auto_crm.complaint"]._read_group([("category_id", "in", self.ids)], ["category_id"], ["__count"])
        )
        for category in self:
            category.complaint_count = counts.get(category, 0)
