from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .auto_crm_callback_answer import SCORES


class AutoCrmCallbackAuditLine(models.Model):
    """One question of an audit: the score the customer gives the auditor, beside the score of the
    original call (shown to managers only: the auditor asks without knowing it)."""

    _name = "auto_crm.callback.audit.line"
    _description = "Callback Audit Answer"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {"score"}
    _inherit = ["auto_crm.owned.mixin"]
    _order = "audit_id, sequence, id"

    audit_id = fields.Many2one("auto_crm.callback.audit", required=True, readonly=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="audit_id.company_id", store=True, index=True)
    question_id = fields.Many2one("auto_crm.question", required=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    original_score_value = fields.Integer(
        string="Original Score",
        readonly=True,
        groups="auto_crm.group_manager",
        help="The score (1 to 5) the customer gave in the audited call.",
    )
    score = fields.Selection(SCORES, string="Audit Score")

    def write(self, vals):
        if not self._owned_privileged() and any(line.audit_id.state != "todo" for line in self):
            raise UserError(_("Audit Score: a done or cancelled audit is kept as it is."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never_done(self):
        if any(line.audit_id.state == "done" for line in self):
            raise UserError(_("The answers of a done audit are kept."))
