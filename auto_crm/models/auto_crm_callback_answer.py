from odoo import api, fields, models

#: The five-point scale of the callback questionnaires (完全不满意 ... 完全满意).
SCORES = [
    ("1", "Very dissatisfied"),
    ("2", "Dissatisfied"),
    ("3", "Acceptable"),
    ("4", "Satisfied"),
    ("5", "Very satisfied"),
]


class AutoCrmCallbackAnswer(models.Model):
    _name = "auto_crm.callback.answer"
    _description = "Callback Answer"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "score",
        "comment",
    }
    _order = "callback_id, sequence, id"
    _check_company_auto = True

    callback_id = fields.Many2one("auto_crm.callback", required=True, ondelete="cascade", index=True)
    question_id = fields.Many2one(
        "auto_crm.question",
        required=True,
        ondelete="restrict",
        index=True,
    )
    sequence = fields.Integer(related="question_id.sequence", store=True)
    step = fields.Selection(related="question_id.step", store=True, string="Process Step")
    required = fields.Boolean(related="question_id.required")
    score = fields.Selection(SCORES)
    score_value = fields.Integer(
        compute="_compute_score_value",
        store=True,
        aggregator="avg",
        string="Score (1-5)",
        help="The score as a number, for averages per question, advisor or store.",
    )
    comment = fields.Char()
    company_id = fields.Many2one(related="callback_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="callback_id.partner_id", store=True, string="Customer")
    date_done = fields.Datetime(related="callback_id.date_done", store=True, string="Completed On")
    questionnaire_id = fields.Many2one(related="question_id.questionnaire_id", store=True)
    visit_id = fields.Many2one(related="callback_id.visit_id", store=True)
    advisor_id = fields.Many2one(related="callback_id.visit_id.advisor_id", store=True, string="Service Advisor")
    technician_id = fields.Many2one(related="callback_id.visit_id.technician_id", store=True, string="Technician")

    _sql_constraints = [
        (
            "auto_crm_callback_answer_question_uniq",
            "unique(callback_id, question_id)",
            "A callback has one answer per question.",
        ),
    ]

    @api.depends("score")
    def _compute_score_value(self):
        for answer in self:
            answer.score_value = int(answer.score) if answer.score else 0

    @api.depends("question_id", "score")
    def _compute_display_name(self):
        for answer in self:
            answer.display_name = answer.question_id.name or ""

    @api.model_create_multi
    def create(self, vals_list):
        answers = super().create(vals_list)
        answers._update_overall_score()
        return answers

    def write(self, vals):
        result = super().write(vals)
        if "score" in vals:
            self._update_overall_score()
            # A corrected answer of a done callback: re-weigh with the weights it was done with.
            self.callback_id.filtered(lambda c: c.state == "done")._compute_csi_sql()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_closed(self):
        self.callback_id._check_history_kept()

    def _update_overall_score(self):
        for answer in self.filtered(lambda a: a.step == "overall" and a.score):
            if answer.callback_id.overall_score != answer.score_value:
                answer.callback_id.overall_score = answer.score_value
