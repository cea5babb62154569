from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools.sql import create_index

from ..lib.workflow import ACTION_INITIAL, ACTION_TRANSITIONS
from .auto_crm_job_run import JobStep
from .input_limits import check_vals

STATES = [
    ("draft", "Draft"),
    ("waiting_approval", "Waiting Approval"),
    ("approved", "Approved"),
    ("in_progress", "In Progress"),
    ("done", "Done"),
    ("verified", "Verified"),
    ("cancel", "Cancelled"),
]
#: States in which the deadline runs.
OPEN_STATES = ("approved", "in_progress")

ORIGIN_TYPES = [
    ("complaint", "Complaint"),
    ("recurring_issue", "Recurring Callback Issue"),
    ("internal_finding", "Internal Finding"),
]


class AutoCrmCorrectiveAction(models.Model):
    _name = "auto_crm.corrective.action"
    _description = "Corrective / Preventive Action"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "active",
        "action_type",
        "state",
        "company_id",
        "origin_type",
        "complaint_ids",
        "recurring_issue",
        "description",
        "user_id",
        "supervisor_id",
        "deadline",
        "result",
        "effectiveness",
        "cancel_reason",
        "issue_tag_ids",
    }
    _inherit = [
        "auto_crm.owned.mixin",
        "mail.thread",
        "mail.activity.mixin",
        "auto_crm.sequence.mixin",
        "auto_crm.workflow.mixin",
    ]
    _order = "deadline, id desc"
    _check_company_auto = True

    _workflow_transitions = ACTION_TRANSITIONS
    _workflow_initial_states = ACTION_INITIAL
    _workflow_stamps = {"approved": "date_approved", "done": "date_done", "verified": "date_verified"}
    _workflow_signatures = {"approved": "approved_by_id", "verified": "verified_by_id"}
    #: Back to draft: a new approval is needed; back to work: it is no longer done.
    _workflow_clear = {
        "draft": ("approved_by_id", "date_approved", "cancel_reason"),
        "in_progress": ("date_done",),
    }
    _workflow_kanban_hidden = ("cancel",)
    _workflow_kanban_folded = ("verified", "cancel")

    reference = fields.Char(required=True, copy=False, readonly=True, default="/", index="trigram", size=64)
    name = fields.Char(string="Title", required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    action_type = fields.Selection(
        [("corrective", "Corrective"), ("preventive", "Preventive")],
        string="Type",
        required=True,
        default="corrective",
        tracking=True,
        help="Corrective: removes the cause of a problem that happened. Preventive: removes the cause "
        "of a recurring issue before it produces complaints.",
    )
    state = fields.Selection(
        STATES,
        string="Status",
        required=True,
        default="draft",
        tracking=True,
        index=True,
        copy=False,
        group_expand="_group_expand_states",
    )
    company_id = fields.Many2one(
        "res.company", string="Store", required=True, default=lambda self: self.env.company, index=True
    )
    origin_type = fields.Selection(ORIGIN_TYPES, string="Origin", required=True, default="complaint", tracking=True)
    complaint_ids = fields.Many2many(
        "auto_crm.complaint",
        "auto_crm_corrective_action_complaint_rel",
        "action_id",
        "complaint_id",
        string="Complaints",
        check_company=True,
    )
    complaint_count = fields.Integer(compute="_compute_complaint_count")
    recurring_issue = fields.Text(help="The issue customers keep raising in callbacks, or the internal finding.")
    description = fields.Html(string="Action Plan")
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        required=True,
        default=lambda self: self.env.user,
        tracking=True,
        index=True,
        domain="[('share', '=', False)]",
    )
    supervisor_id = fields.Many2one(
        "res.users",
        tracking=True,
        domain="[('share', '=', False)]",
        help="Usually the service manager: supervises the execution and checks its effectiveness.",
    )
    deadline = fields.Date(required=True, tracking=True, index=True)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False, tracking=True)
    date_approved = fields.Datetime(string="Approved On", readonly=True, copy=False)
    date_done = fields.Datetime(string="Done On", readonly=True, copy=False)
    result = fields.Text(tracking=True, copy=False, help="What was done and what came of it, reported by the owner.")
    verified_by_id = fields.Many2one("res.users", readonly=True, copy=False, tracking=True)
    date_verified = fields.Datetime(string="Verified On", readonly=True, copy=False)
    effectiveness = fields.Text(
        string="Effectiveness Check", tracking=True, copy=False, help="How the supervisor checked the problem is gone."
    )
    cancel_reason = fields.Char(tracking=True, copy=False)
    is_overdue = fields.Boolean(string="Overdue", compute="_compute_is_overdue", search="_search_is_overdue")
    overdue_notified_deadline = fields.Date(
        readonly=True,
        copy=False,
        help="The deadline the owner was last reminded of; the overdue job reminds once per deadline.",
    )
    overdue_reminder_error = fields.Text(
        compute="_compute_overdue_reminder_error",
        help="Why the reminder failed in the last run of the overdue job; it is retried at the next run.",
    )

    _sql_constraints = [
        (
            "auto_crm_corrective_action_reference_uniq",
            "unique(reference, company_id)",
            "References are unique per store.",
        ),
    ]

    def init(self):
        # The board's columns and the list, in their order (deadline first).
        create_index(
            self.env.cr, "auto_crm_corrective_action_state_deadline_idx", self._table, ["state", "deadline", "id DESC"]
        )

    # ------------------------------------------------------------------ computes
    def _compute_overdue_reminder_error(self):
        # From the run log: the failures of the last run of the overdue job (two queries for any number).
        Run = self.env["auto_crm.job.run"].sudo()
        last = Run.search([("job", "=", "corrective_action_overdue"), ("state", "!=", "skipped")], limit=1)
        errors = {}
        if last.failed_count:
            lines = last.line_ids.filtered(lambda l: l.state == "failed" and l.res_model == self._name)
            errors = {line.res_id: line.message for line in lines}
        for action in self:
            action.overdue_reminder_error = errors.get(action.id, False)

    def _compute_complaint_count(self):
        for action in self:
            action.complaint_count = len(action.complaint_ids)

    def _compute_is_overdue(self):
        for action in self:
            today = (action.company_id or self.env.company)._auto_crm_today()
            action.is_overdue = action.state in OPEN_STATES and bool(action.deadline) and action.deadline < today

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Overdue: search with 'is set' or 'is not set' only."))
        domain = [("state", "in", OPEN_STATES), ("deadline", "<", self.env.company._auto_crm_today())]
        return domain if (operator == "=") == value else ["!", *expression.normalize_domain(domain)]

    @api.depends("reference", "name")
    def _compute_display_name(self):
        for action in self:
            action.display_name = f"{action.reference} {action.name}" if action.name else action.reference

    # ------------------------------------------------------------------ constraints
    @api.constrains("origin_type", "complaint_ids", "recurring_issue")
    def _check_origin(self):
        for action in self:
            if action.origin_type == "complaint" and not action.complaint_ids:
                raise ValidationError(
                    _("Complaints: %s comes from complaints; link at least one complaint.", action.name)
                )
            if action.origin_type != "complaint" and not (action.recurring_issue or "").strip():
                raise ValidationError(
                    _("Recurring Issue: describe the recurring issue or internal finding behind %s.", action.name)
                )

    @api.constrains("user_id", "approved_by_id")
    def _check_owner_not_approver(self):
        for action in self:
            if action.approved_by_id and action.approved_by_id == action.user_id:
                raise ValidationError(
                    _(
                        "Responsible: %(user)s approved %(action)s and cannot own it; the approver and the owner "
                        "are different people.",
                        user=action.user_id.name,
                        action=action.name,
                    )
                )

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        for vals in vals_list:
            if vals.get("reference", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                self._owned_fill(vals, "reference", self._auto_crm_next_number("auto_crm.corrective.action", company))
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals])
        if {"description", "deadline", "action_type"} & set(vals) and not self.env.su:
            locked = self.filtered(lambda a: a.state not in ("draft", "waiting_approval"))
            if locked and not self.env.user.has_group("auto_crm.group_manager"):
                raise AccessError(_("Only after-sales managers can change the plan or deadline of an approved action."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_draft(self):
        for action in self:
            if action.state != "draft":
                raise UserError(_("Status: %s was submitted; cancel it instead of deleting it.", action.reference))

    # ------------------------------------------------------------------ workflow
    def _workflow_refused_message(self, old, new):
        return _(
            "Status: %(action)s cannot go from %(old)s to %(new)s. An action is submitted, approved, "
            "carried out, done and verified, in that order.",
            action=self.reference,
            old=self._workflow_state_label(old),
            new=self._workflow_state_label(new),
        )

    def _workflow_denied_message(self, old, new):
        if old == "waiting_approval":
            return _("Only the general manager (Dealer Administrator) approves corrective actions.")
        if old == "done":
            return _("Only the supervisor's managers can verify the effectiveness of an action.")
        if new == "cancel":
            return _("Only after-sales managers can cancel a corrective action.")
        return _("Only after-sales managers can restore a cancelled corrective action.")

    def _workflow_initial_message(self, state):
        return _("Status: a corrective action starts as a draft and is submitted for approval.")

    def _workflow_check(self, old, new, vals):
        """Preconditions; who may make each move is the transition table. The owner-or-manager rule
        of carrying the action out is per record, so it is checked here."""
        user = self.env.user
        if new == "waiting_approval" and not (vals.get("description", self.description)):
            raise UserError(_("Action Plan: describe what %s will do before submitting it.", self.reference))
        if new == "approved" and user == self.user_id:
            raise UserError(
                _(
                    "Responsible: %(action)s is yours; another general manager or dealer administrator must "
                    "approve it.",
                    action=self.reference,
                )
            )
        if (old, new) in (("approved", "in_progress"), ("in_progress", "done")) and not self.env.su:
            if user != self.user_id and not user.has_group("auto_crm.group_manager"):
                raise AccessError(_("Only the owner of %s or a manager can carry it out.", self.reference))
        if new == "done" and not (vals.get("result", self.result) or "").strip():
            raise UserError(
                _("Result: write down what was done and what came of it before marking %s done.", self.reference)
            )
        if new == "verified" and not (vals.get("effectiveness", self.effectiveness) or "").strip():
            raise UserError(_("Effectiveness Check: say how you checked that %s removed the problem.", self.reference))
        if new == "cancel" and not (vals.get("cancel_reason", self.cancel_reason) or "").strip():
            raise UserError(_("Cancel Reason: say why %s is cancelled.", self.reference))

    def action_submit(self):
        self.write({"state": "waiting_approval"})

    def action_approve(self):
        self.write({"state": "approved"})

    def action_send_back(self):
        self.write({"state": "draft"})

    def action_start(self):
        self.write({"state": "in_progress"})

    def action_done(self):
        self.write({"state": "done"})

    def action_verify(self):
        self.write({"state": "verified"})

    def action_not_effective(self):
        self.write({"state": "in_progress"})

    def action_cancel(self):
        self.write({"state": "cancel"})

    def action_reset(self):
        self.write({"state": "draft"})

    def action_view_complaints(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_complaint_action")
        action["domain"] = [("id", "in", self.complaint_ids.ids)]
        action["context"] = {"create": False}
        return action

    # ------------------------------------------------------------------ overdue job
    @api.model
    def _cron_remind_overdue(self, batch_size=500):
        """Give the owner of each overdue action an activity, once per deadline. Returns the number
        of actions processed (0 when another run was in progress).

        Set-based: each batch claims its actions with one UPDATE ... RETURNING that stamps the
        deadline reminded of (a second or concurrent run finds nothing left to claim) and creates
        the activities in one go. Batches, savepoints, the retry one action at a time and the run log
        are the job runner's (auto_crm.job.run): an action that fails keeps its stamp unset and is
        retried at the next run.
        """
        today = self.env.company._auto_crm_today()
        run = self.env["auto_crm.job.run"]._run_job(
            "corrective_action_overdue",
            JobStep(
                units=lambda: self._overdue_ids(today),
                process=lambda batch: self._remind_overdue(batch, today),
                model=self._name,
                batch_size=batch_size,
            ),
        )
        self.invalidate_model(["overdue_reminder_error"])
        return run.processed_count

    @api.model
    def _overdue_ids(self, today):
        self.env.cr.execute(
            """
            SELECT id FROM auto_crm_corrective_action
             WHERE active AND state IN %s AND deadline < %s
               AND overdue_notified_deadline IS DISTINCT FROM deadline
             ORDER BY id
            """,
            (OPEN_STATES, today),
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _remind_overdue(self, ids, today):
        self.env.cr.execute(
            """
            UPDATE auto_crm_corrective_action
               SET overdue_notified_deadline = deadline
             WHERE id = ANY(%s) AND state IN %s AND deadline < %s
               AND overdue_notified_deadline IS DISTINCT FROM deadline
            RETURNING id
            """,
            (ids, OPEN_STATES, today),
        )
        claimed = [row[0] for row in self.env.cr.fetchall()]
        self.invalidate_model(["overdue_notified_deadline"])
        if not claimed:
            return
        actions = self.sudo().browse(claimed)
        activity_type = self.env.ref("auto_crm.mail_activity_type_corrective_action_overdue")
        model_id = self.env["ir.model"]._get_id(self._name)
        vals_list = []
        for action in actions:
            vals_list.append(
                {
                    "res_model_id": model_id,
                    "res_id": action.id,
                    "activity_type_id": activity_type.id,
                    "summary": _("Overdue since %s: report the result or agree a new deadline", action.deadline),
                    "user_id": action.user_id.id,
                    "date_deadline": today,
                }
            )
        self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(vals_list)

    issue_tag_ids = fields.Many2many(
        "auto_crm.callback.issue.tag",
        string="Recurring Issues",
        help="Issues customers keep raising in callbacks that this (preventive) action addresses.",
    )
