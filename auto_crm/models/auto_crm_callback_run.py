from odoo import api, fields, models

RUN_STATES = [("done", "Done"), ("skipped", "Skipped"), ("failed", "Failed")]


class AutoCrmCallbackRun(models.Model):
    """One line per rule and engine run: what was created, who was skipped and why, what failed."""

    _name = "auto_crm.callback.run"
    _description = "Callback Engine Run"
    _order = "date_start desc, id desc"

    run_key = fields.Char(string="Run", index=True, readonly=True, help="Lines of the same engine run share it.")
    date_start = fields.Datetime(string="Run On", default=fields.Datetime.now, readonly=True, index=True)
    rule_id = fields.Many2one("auto_crm.callback.rule", string="Rule", ondelete="cascade", index=True, readonly=True)
    trigger = fields.Selection(related="rule_id.trigger")
    company_id = fields.Many2one(related="rule_id.company_id", store=True, index=True)
    state = fields.Selection(RUN_STATES, string="Result", required=True, default="done", readonly=True)
    created_count = fields.Integer(string="Created", readonly=True)
    skipped_dnd_count = fields.Integer(string="Skipped (Do Not Disturb)", readonly=True)
    skipped_consent_count = fields.Integer(string="Skipped (No Consent)", readonly=True)
    expired_count = fields.Integer(string="Expired", readonly=True)
    cancelled_count = fields.Integer(string="Cancelled (Do Not Disturb)", readonly=True)
    duration = fields.Float(string="Seconds", readonly=True, digits=(16, 3))
    message = fields.Text(readonly=True)

    @api.depends("rule_id", "date_start")
    def _compute_display_name(self):
        for run in self:
            label = run.rule_id.name or self.env._("Housekeeping")
            run.display_name = f"{label} ({run.date_start})"
