from odoo import api, fields, models

#: The kinds of survey, each indexed apart: the satisfaction index (CSI: the analysis, the dashboard,
#: the monthly report's satisfaction with the last repair) takes the after-service calls only; the
#: after-sale (SSI), win-back and complaint-confirmation calls are reported beside it, never averaged in.
QUESTIONNAIRE_KINDS = [
    ("after_service", "After service (CSI)"),
    ("after_sale", "After sale (SSI)"),
    ("win_back", "Win-back"),
    ("complaint_confirmation", "Complaint confirmation"),
    ("care", "Care and reminders"),
    ("other", "Other"),
]


class AutoCrmQuestionnaire(models.Model):
    _name = "auto_crm.questionnaire"
    _description = "Callback Questionnaire"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "sequence",
        "active",
        "company_id",
        "kind",
        "description",
        "question_ids",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread"]
    _order = "sequence, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        string="Store",
        index=True,
        tracking=True,
        help="Leave empty to share the questionnaire across every store of the group.",
    )
    kind = fields.Selection(
        QUESTIONNAIRE_KINDS,
        required=True,
        default="after_service",
        tracking=True,
        help="The survey this questionnaire is: only after-service calls count in the satisfaction index (CSI); "
        "the other kinds are reported apart.",
    )
    description = fields.Text(translate=True, help="What the agent says before the first question.")
    question_ids = fields.One2many("auto_crm.question", "questionnaire_id", string="Questions", copy=True)
    question_count = fields.Integer(compute="_compute_question_count", string="Questions Count")

    @api.depends("question_ids.active")
    def _compute_question_count(self):
        for questionnaire in self:
            questionnaire.question_count = len(questionnaire.question_ids.filtered("active"))
