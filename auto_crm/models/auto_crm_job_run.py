import logging
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import split_every
from odoo.tools.sql import create_index

_logger = logging.getLogger(__name__)

#: The scheduled jobs of the add-on, by code.
JOBS = [
    ("callback_engine", "Callback Engine"),
    ("complaint_escalation", "Complaint SLA Escalation"),
    ("corrective_action_overdue", "Overdue Corrective Action Reminders"),
    ("partner_segments", "Customer Segments"),
    ("loyalty_nightly", "Loyalty Expiry and Tiers"),
    ("service_forecast", "Service Forecast"),
    ("customer_risk", "Customers at Risk"),
    ("callback_link_fallback", "Questionnaire Link Fallback"),
]
RUN_STATES = [("running", "Running"), ("done", "Done"), ("failed", "Failed"), ("skipped", "Skipped")]
LINE_STATES = [("done", "Done"), ("failed", "Failed"), ("skipped", "Skipped")]

#: First key of the transaction-level advisory lock a run holds on its job (the second is the job's).
JOB_LOCK_CLASS = 8842


def job_lock_key(job):
    """The (class, object) pair of the advisory lock of a job: stable across processes."""
    return JOB_LOCK_CLASS, zlib.crc32(job.encode()) & 0x7FFFFFFF


@dataclass
class JobStep:
    """One pass of a job over its units, in batches.

    ``units``: the units (ids, records or tuples), or a function returning them, called once the
    run holds its lock. ``process(batch)`` does the work of a batch; it may return ``{unit: vals}``,
    the run line to log for a unit (counts, state, message). ``model`` and ``res_id(unit)`` say
    which record a unit concerns (records name themselves). ``split(units, size)`` cuts the batches
    (default: ``batch_size`` units each). ``on_failure(unit, error)`` is called, in a savepoint,
    when a unit fails on its own (to leave what a retry needs)."""

    process: Callable
    units: Iterable | Callable = ()
    model: str | None = None
    res_id: Callable | None = None
    batch_size: int = 500
    split: Callable | None = None
    on_failure: Callable | None = None


class AutoCrmJobRun(models.Model):
    """One row per run of a scheduled job: when, what came of it, and one line per unit worth
    telling (a rule the engine ran, a record that failed)."""

    _name = "auto_crm.job.run"
    _description = "Scheduled Job Run"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _order = "date_start desc, id desc"

    job = fields.Selection(JOBS, required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", string="Store", readonly=True, index=True)
    state = fields.Selection(RUN_STATES, string="Result", required=True, default="running", readonly=True)
    date_start = fields.Datetime(string="Started", default=fields.Datetime.now, required=True, readonly=True)
    date_end = fields.Datetime(string="Ended", readonly=True)
    duration = fields.Float(string="Seconds", readonly=True, digits=(16, 3))
    processed_count = fields.Integer(string="Processed", readonly=True)
    failed_count = fields.Integer(string="Failed", readonly=True)
    message = fields.Text(readonly=True)
    line_ids = fields.One2many("auto_crm.job.run.line", "run_id", string="Lines", readonly=True)

    def init(self):
        # The run log: all runs, or one job's, newest first.
        create_index(self.env.cr, "auto_crm_job_run_date_idx", self._table, ["date_start DESC", "id DESC"])
        create_index(self.env.cr, "auto_crm_job_run_job_date_idx", self._table, ["job", "date_start DESC", "id DESC"])

    @api.depends("job", "date_start")
    def _compute_display_name(self):
        labels = dict(self._fields["job"]._description_selection(self.env))
        for run in self:
            run.display_name = f"{labels.get(run.job, '')} ({run.date_start})"

    # ------------------------------------------------------------------ the batch runner
    @api.model
    def _run_job(self, job, steps, lock_key=None, company=None):
        """Run a scheduled job: the one way every cron of the add-on works.

        Takes the job's transaction-level advisory lock (``lock_key``, by default one per job):
        when another transaction holds it, the run is logged at INFO and recorded as skipped.
        Otherwise each step's units are processed in batches, each batch in a savepoint; a batch
        that fails is retried one unit at a time, each in a savepoint, so one bad record never
        aborts the run; each unit that still fails is logged and recorded on the run with its
        record and error. Progress goes to ``ir.cron._notify_progress``. The run ends done, or
        failed when a unit failed. Returns the run."""
        if isinstance(steps, JobStep):
            steps = [steps]
        started = time.monotonic()
        self.env.flush_all()
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", lock_key or job_lock_key(job))
        held = self.env.cr.fetchone()[0]
        vals = {"job": job, "company_id": company.id if company else False}
        if not held:
            _logger.info("Job %s skipped: another run holds it", job)
            return self.sudo().create(
                dict(
                    vals,
                    state="skipped",
                    date_end=fields.Datetime.now(),
                    message=_("Skipped: another run of this job was in progress."),
                )
            )
        run = self.sudo().create(vals)
        lines, processed = [], 0
        Cron = self.env["ir.cron"]
        for step in steps:
            units = list(step.units() if callable(step.units) else step.units)
            split = step.split or (lambda units, size: split_every(size, units, list))
            done = 0
            for batch in split(units, step.batch_size):
                try:
                    with self.env.cr.savepoint():
                        results = step.process(batch)
                except Exception as error:  # retried one unit at a time below
                    results = {}
                    if len(batch) == 1:
                        lines.append(run._unit_failed(step, batch[0], error))
                    else:
                        for unit in batch:
                            try:
                                with self.env.cr.savepoint():
                                    result = step.process([unit])
                                results.update(result if isinstance(result, dict) else {})
                            except Exception as unit_error:  # one bad unit never stops the run
                                lines.append(run._unit_failed(step, unit, unit_error))
                for unit, line in (results if isinstance(results, dict) else {}).items():
                    lines.append(dict(run._unit_ref(step, unit), **line))
                done += len(batch)
                processed += len(batch)
                Cron._notify_progress(done=done, remaining=len(units) - done)
        failed_lines = [line for line in lines if line.get("state") == "failed"]
        run.write(
            {
                "state": "failed" if failed_lines else "done",
                "date_end": fields.Datetime.now(),
                "duration": time.monotonic() - started,
                "processed_count": processed,
                "failed_count": len(failed_lines),
                "message": _("%(failed)s of %(processed)s failed.", failed=len(failed_lines), processed=processed)
                if failed_lines
                else False,
                "line_ids": [fields.Command.create(line) for line in lines],
            }
        )
        return run

    def _unit_ref(self, step, unit):
        """The record a unit concerns, as line values (model, id, name, store)."""
        if isinstance(unit, models.BaseModel):
            record = unit
        elif step.model and unit is not None:
            record = self.env[step.model].browse(step.res_id(unit) if step.res_id else unit)
        else:
            return {}
        record = record.sudo().with_context(active_test=False)
        vals = {"res_model": record._name, "res_id": record.id}
        if record._name == "auto_crm.callback.rule":
            vals["rule_id"] = record.id
        return vals

    def _unit_failed(self, step, unit, error):
        """Log a unit that failed on its own, let the job leave what a retry needs, and return its line."""
        ref = self._unit_ref(step, unit)
        text = error.args[0] if isinstance(error, UserError | ValidationError) and error.args else str(error)
        _logger.warning("Job %s: %s %s failed: %s", self.job, ref.get("res_model", ""), ref.get("res_id", unit), text)
        if step.on_failure:
            try:
                with self.env.cr.savepoint():
                    step.on_failure(unit, error)
            except Exception as second:  # the run log still has it
                _logger.warning("Job %s: recording the failure of %s failed too: %s", self.job, unit, second)
        if ref:
            try:
                with self.env.cr.savepoint():
                    record = self.env[ref["res_model"]].sudo().browse(ref["res_id"])
                    ref["res_name"] = record.display_name
                    if record._fields.get("company_id") and record._fields["company_id"].type == "many2one":
                        ref["company_id"] = record.company_id.id
            except Exception:  # a record too broken to name keeps its id
                ref.pop("company_id", None)
        return dict(ref, state="failed", message=text[:2000])
