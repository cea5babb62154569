from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    complaint_goodwill_limit = fields.Monetary(
        string="Goodwill Authority Limit",
        currency_field="currency_id",
        default=500.0,
        help="Goodwill that customer relations staff may grant on a complaint on their own. Above it "
        "the complaint goes to the service department: an after-sales manager must approve it.",
    )
    complaint_callback_score_threshold = fields.Integer(
        string="Complaint Score Threshold",
        default=2,
        help="A callback answered with a satisfaction score at or below this value (1 to 5) opens a complaint.",
    )

    _sql_constraints = [
        (
            "auto_crm_complaint_goodwill_limit_positive",
            "CHECK(complaint_goodwill_limit >= 0)",
            "Goodwill Authority Limit cannot be negative.",
        ),
        (
            "auto_crm_complaint_score_threshold_range",
            "CHECK(complaint_callback_score_threshold BETWEEN 0 AND 5)",
            "Complaint Score Threshold must lie between 0 and 5.",
        ),
    ]
