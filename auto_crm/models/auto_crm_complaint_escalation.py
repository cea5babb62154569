from odoo import fields, models

from .auto_crm_complaint import ESCALATION_KINDS


class AutoCrmComplaintEscalation(models.Model):
    """The log of SLA breaches escalated to the managers: one row per complaint and kind of breach.

    Written by the escalation job only (SQL, INSERT ... ON CONFLICT): its UNIQUE (complaint, kind)
    index is what guarantees a breach is escalated once, even by two runs at the same time.
    """

    _name = "auto_crm.complaint.escalation"
    _description = "Complaint SLA Escalation"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _order = "date desc, id desc"

    complaint_id = fields.Many2one("auto_crm.complaint", required=True, ondelete="cascade", index=True, readonly=True)
    kind = fields.Selection(ESCALATION_KINDS, string="Breach", required=True, readonly=True)
    company_id = fields.Many2one("res.company", string="Store", required=True, index=True, readonly=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    state = fields.Selection(
        [("done", "Escalated"), ("failed", "Failed")], required=True, default="done", readonly=True
    )
    error = fields.Text(readonly=True, help="Why the escalation failed; it is retried at the next run.")

    _sql_constraints = [
        (
            "auto_crm_complaint_escalation_uniq",
            "unique(complaint_id, kind)",
            "Breach: each breach of a complaint is escalated once.",
        ),
    ]
