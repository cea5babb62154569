from odoo import fields, models

#: The steps of the service process a question is about, so reports can aggregate per step.
QUESTION_STEPS = [
    ("greeting", "Greeting"),
    ("reception", "Reception check"),
    ("repair_quality", "Repair quality"),
    ("on_time", "On-time delivery"),
    ("price", "Price explained"),
    ("cleanliness", "Car cleanliness"),
    ("overall", "Overall"),
    ("other", "Other"),
]


class AutoCrmQuestion(models.Model):
    _name = "auto_crm.question"
    _description = "Callback Question"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "questionnaire_id",
        "sequence",
        "name",
        "step",
        "required",
        "active",
    }
    _order = "questionnaire_id, sequence, id"
    _check_company_auto = True

    questionnaire_id = fields.Many2one(
        "auto_crm.questionnaire",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="questionnaire_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(string="Question", required=True, translate=True)
    step = fields.Selection(QUESTION_STEPS, required=True, default="other", string="Process Step")
    required = fields.Boolean(default=True, help="A callback cannot be completed without an answer to it.")
    active = fields.Boolean(default=True)
