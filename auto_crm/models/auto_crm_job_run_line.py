from odoo import api, fields, models
from odoo.tools.sql import create_index

from .auto_crm_job_run import LINE_STATES


class AutoCrmJobRunLine(models.Model):
    """A unit of a job run worth telling: a callback rule the engine ran (with its counts), a record
    that failed (with its error) or was left to another run."""

    _name = "auto_crm.job.run.line"
    _description = "Scheduled Job Run Line"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _order = "date_start desc, id desc"

    run_id = fields.Many2one("auto_crm.job.run", required=True, ondelete="cascade", index=True)
    job = fields.Selection(related="run_id.job", store=True, index=True)
    date_start = fields.Datetime(related="run_id.date_start", store=True, string="Run On")
    res_model = fields.Char(string="Model", readonly=True)
    res_id = fields.Many2oneReference(string="Record ID", model_field="res_model", readonly=True, index=True)
    res_name = fields.Char(string="Record", readonly=True)
    rule_id = fields.Many2one("auto_crm.callback.rule", ondelete="cascade", index="btree_not_null", readonly=True)
    trigger = fields.Selection(related="rule_id.trigger")
    company_id = fields.Many2one("res.company", string="Store", readonly=True, index=True)
    state = fields.Selection(LINE_STATES, string="Result", required=True, default="done", readonly=True)
    created_count = fields.Integer(string="Created", readonly=True)
    skipped_dnd_count = fields.Integer(string="Skipped (Do Not Disturb)", readonly=True)
    skipped_consent_count = fields.Integer(string="Skipped (No Consent)", readonly=True)
    already_count = fields.Integer(string="Already Called", readonly=True)
    # contact pressure (issue 12): due customers the engine left alone
    skipped_open_count = fields.Integer(
        string="Skipped (Open Callback)",
        readonly=True,
        help="Due customers who already had an open callback in the store (from any rule, or due twice in this run).",
    )
    skipped_pressure_count = fields.Integer(
        string="Skipped (Contact Pressure)",
        readonly=True,
        help="Due customers who already had the store's maximum number of calls in its pressure period.",
    )
    # same-week reminders (issue 13): reminders given to a call rather than making their own
    merged_count = fields.Integer(
        string="Reminders Added to a Call",
        readonly=True,
        help="Reminders due that were added to a call of the same customer due the same week (already open, "
        "or made for another of their reminders in this run) instead of making a call of their own.",
    )
    expired_count = fields.Integer(string="Expired", readonly=True)
    cancelled_count = fields.Integer(string="Cancelled (Do Not Disturb)", readonly=True)
    duration = fields.Float(string="Seconds", readonly=True, digits=(16, 3))
    message = fields.Text(readonly=True)

    def init(self):
        # The run lines: one job's (the engine's log) or all, newest first.
        create_index(
            self.env.cr, "auto_crm_job_run_line_job_date_idx", self._table, ["job", "date_start DESC", "id DESC"]
        )
        create_index(self.env.cr, "auto_crm_job_run_line_date_idx", self._table, ["date_start DESC", "id DESC"])

    @api.depends("res_name", "rule_id", "date_start")
    def _compute_display_name(self):
        for line in self:
            label = line.rule_id.name or line.res_name or self.env._("Housekeeping")
            line.display_name = f"{label} ({line.date_start})"
