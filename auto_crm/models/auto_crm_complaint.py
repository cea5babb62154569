import logging
from datetime import datetime, timedelta

from markupsafe import Markup
from psycopg2 import IntegrityError

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import float_compare
from odoo.tools.sql import create_index

from ..lib.sla import sla_state
from ..lib.workflow import COMPLAINT_INITIAL, COMPLAINT_TRANSITIONS
from .auto_crm_complaint_sla_policy import SEVERITIES
from .auto_crm_job_run import JobStep
from .input_limits import check_vals

_logger = logging.getLogger(__name__)

STATES = [
    ("new", "New"),
    ("acknowledged", "Acknowledged"),
    ("investigating", "Investigating"),
    ("resolving", "Resolving"),
    ("awaiting_confirmation", "Awaiting Customer Confirmation"),
    ("closed", "Closed"),
]
#: Stages in which the customer has been offered a resolution.
RESOLVED_STATES = ("awaiting_confirmation", "closed")

CHANNELS = [
    ("phone", "Phone"),
    ("walk_in", "Walk-in"),
    ("callback", "Callback"),
    ("email", "E-mail"),
    ("online", "Online"),
    ("oem_hotline", "OEM Hotline"),
]

SLA_STATES = [
    ("none", "No SLA"),
    ("on_track", "On Track"),
    ("at_risk", "Due Soon"),
    ("overdue", "Overdue"),
    ("met", "Met"),
    ("missed", "Missed"),
]
#: Kanban highlight colour of each SLA state (Odoo's colour indexes).
SLA_COLORS = {"none": 0, "on_track": 10, "at_risk": 2, "overdue": 1, "met": 10, "missed": 1}

ESCALATION_KINDS = [("acknowledge", "Not acknowledged in time"), ("resolve", "Not resolved in time")]

#: A complaint is received from this year on, and not in the future (give or take the tolerance,
#: for a clock a little ahead of the server's).
FIRST_COMPLAINT_YEAR = 2000
RECEIVED_TOLERANCE = timedelta(minutes=5)
#: What a complaint's numbers may be (NaN and infinity are refused whatever the range).
COMPLAINT_RANGES = {"goodwill_amount": (0, None)}


class AutoCrmComplaint(models.Model):
    _name = "auto_crm.complaint"
    _description = "Customer Complaint"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "subject",
        "active",
        "company_id",
        "state",
        "partner_id",
        "vehicle_id",
        "visit_id",
        "advisor_id",
        "technician_id",
        "user_id",
        "channel",
        "category_id",
        "severity",
        "description",
        "evidence_ids",
        "root_cause",
        "resolution",
        "goodwill_amount",
        "corrective_action_ids",
    }
    _inherit = [
        "auto_crm.owned.mixin",
        "mail.thread",
        "mail.activity.mixin",
        "auto_crm.sequence.mixin",
        "auto_crm.workflow.mixin",
    ]
    _order = "date_received desc, id desc"
    _check_company_auto = True
    _rec_names_search = ["name", "subject", "partner_id.name", "vehicle_id.plate"]

    _workflow_transitions = COMPLAINT_TRANSITIONS
    _workflow_initial_states = COMPLAINT_INITIAL
    _workflow_stamps = {"closed": "date_closed"}
    #: Any stage after new acknowledges (once); offering the resolution stamps it (once).
    _workflow_first_stamps = {
        "acknowledged": ("date_acknowledged",),
        "investigating": ("date_acknowledged",),
        "resolving": ("date_acknowledged",),
        "awaiting_confirmation": ("date_acknowledged", "date_resolved"),
        "closed": ("date_acknowledged", "date_resolved"),
    }
    _workflow_counters = {("closed", "investigating"): "reopen_count"}
    #: The customer refused the resolution: the resolution time runs again; re-opened: it is neither
    #: resolved nor closed any more.
    _workflow_clear = {
        "resolving": ("date_resolved",),
        ("closed", "investigating"): ("date_closed", "date_resolved"),
    }
    _workflow_protected = ("goodwill_approved_by_id",)
    _workflow_kanban_folded = ("closed",)

    name = fields.Char(string="Number", required=True, copy=False, readonly=True, default="/", index="trigram", size=64)
    subject = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", string="Store", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    state = fields.Selection(
        STATES,
        string="Stage",
        required=True,
        default="new",
        tracking=True,
        index=True,
        copy=False,
        group_expand="_group_expand_states",
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, tracking=True, index=True, check_company=True
    )
    vehicle_id = fields.Many2one(
        "auto_crm.vehicle",
        tracking=True,
        index=True,
        check_company=True,
        domain="[('partner_id', '=?', partner_id)]",
    )
    visit_id = fields.Many2one(
        "auto_crm.service.visit",
        string="Service Visit",
        tracking=True,
        index="btree_not_null",
        check_company=True,
        domain="[('partner_id', '=?', partner_id)]",
    )
    advisor_id = fields.Many2one(
        "res.users",
        string="Service Advisor",
        compute="_compute_staff",
        store=True,
        readonly=False,
        tracking=True,
        domain="[('share', '=', False)]",
        help="The advisor the complaint is about; taken from the service visit.",
    )
    technician_id = fields.Many2one(
        "res.users",
        compute="_compute_staff",
        store=True,
        readonly=False,
        tracking=True,
        domain="[('share', '=', False)]",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Handled By",
        default=lambda self: self.env.user,
        tracking=True,
        index=True,
        domain="[('share', '=', False)]",
        help="The customer relations staff member who owns the complaint.",
    )
    channel = fields.Selection(CHANNELS, required=True, default="phone", tracking=True)
    category_id = fields.Many2one("auto_crm.complaint.category", tracking=True, index=True, check_company=True)
    severity = fields.Selection(SEVERITIES, required=True, default="general", tracking=True, index=True)
    description = fields.Html(string="Customer's Account")
    evidence_ids = fields.Many2many(
        "ir.attachment",
        "auto_crm_complaint_evidence_rel",
        "complaint_id",
        "attachment_id",
        help="Photos, recordings and documents the customer or staff provided.",
    )
    root_cause = fields.Text(tracking=True)
    resolution = fields.Text(tracking=True)
    goodwill_amount = fields.Monetary(tracking=True, copy=False)
    goodwill_limit = fields.Monetary(related="company_id.complaint_goodwill_limit", string="Authority Limit")
    needs_manager = fields.Boolean(
        string="Beyond Customer Relations Authority",
        compute="_compute_needs_manager",
        store=True,
        help="The goodwill exceeds what customer relations staff may grant: an after-sales manager must approve it.",
    )
    goodwill_approved_by_id = fields.Many2one("res.users", readonly=True, copy=False, tracking=True)
    reopen_count = fields.Integer(string="Times Re-opened", readonly=True, copy=False)

    # SLA
    date_received = fields.Datetime(
        string="Received", required=True, readonly=True, default=fields.Datetime.now, tracking=True, index=True
    )
    date_acknowledged = fields.Datetime(string="Acknowledged", readonly=True, copy=False)
    date_resolved = fields.Datetime(
        string="Resolution Offered", readonly=True, copy=False, help="When the customer was offered the resolution."
    )
    date_closed = fields.Datetime(string="Closed", readonly=True, copy=False, index=True)
    sla_policy_id = fields.Many2one(
        "auto_crm.complaint.sla.policy",
        string="SLA Policy",
        compute="_compute_sla_deadlines",
        store=True,
        readonly=True,
    )
    deadline_acknowledge = fields.Datetime(
        string="Acknowledge By", compute="_compute_sla_deadlines", store=True, readonly=True, index=True
    )
    deadline_resolve = fields.Datetime(
        string="Resolve By", compute="_compute_sla_deadlines", store=True, readonly=True, index=True
    )
    sla_state = fields.Selection(SLA_STATES, string="SLA", compute="_compute_sla_state")
    sla_color = fields.Integer(compute="_compute_sla_state")
    is_overdue = fields.Boolean(string="Overdue", compute="_compute_sla_state", search="_search_is_overdue")
    escalation_ids = fields.One2many("auto_crm.complaint.escalation", "complaint_id", string="Escalations")
    escalated_ack = fields.Boolean(string="Escalated (acknowledge)", compute="_compute_escalated")
    escalated_resolve = fields.Boolean(string="Escalated (resolve)", compute="_compute_escalated")

    # Origin: what opened the complaint (a callback later, a service visit...), at most once.
    origin_model = fields.Char(readonly=True, copy=False, size=128)
    origin_res_id = fields.Integer(string="Origin Record", readonly=True, copy=False)

    corrective_action_ids = fields.Many2many(
        "auto_crm.corrective.action",
        "auto_crm_corrective_action_complaint_rel",
        "complaint_id",
        "action_id",
        string="Corrective Actions",
        copy=False,
    )
    corrective_action_count = fields.Integer(compute="_compute_corrective_action_count")

    _sql_constraints = [
        ("auto_crm_complaint_name_company_uniq", "unique(name, company_id)", "Complaint numbers are unique per store."),
        ("auto_crm_complaint_goodwill_positive", "CHECK(goodwill_amount >= 0)", "Goodwill Amount cannot be negative."),
        (
            "auto_crm_complaint_origin_complete",
            "CHECK((origin_model IS NULL) = (origin_res_id IS NULL OR origin_res_id = 0))",
            "Origin Model and Origin Record go together.",
        ),
    ]

    def init(self):
        # The complaint board's columns and the list, in their order.
        create_index(
            self.env.cr,
            "auto_crm_complaint_state_received_idx",
            self._table,
            ["state", "date_received DESC", "id DESC"],
        )
        create_index(self.env.cr, "auto_crm_complaint_received_idx", self._table, ["date_received DESC", "id DESC"])
        # A callback (or any origin record) opens at most one complaint.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_complaint_origin_uniq
                ON auto_crm_complaint (origin_model, origin_res_id)
             WHERE origin_model IS NOT NULL
            """
        )

    # ------------------------------------------------------------------ computes
    @api.depends("visit_id")
    def _compute_staff(self):
        for complaint in self:
            if complaint.visit_id:
                complaint.advisor_id = complaint.visit_id.advisor_id
                complaint.technician_id = complaint.visit_id.technician_id

    @api.depends("goodwill_amount", "company_id.complaint_goodwill_limit")
    def _compute_needs_manager(self):
        for complaint in self:
            rounding = complaint.currency_id.rounding or 0.01
            complaint.needs_manager = (
                float_compare(
                    complaint.goodwill_amount,
                    complaint.company_id.complaint_goodwill_limit,
                    precision_rounding=rounding,
                )
                > 0
            )

    @api.depends("severity", "date_received", "company_id")
    def _compute_sla_deadlines(self):
        policies = self.env["auto_crm.complaint.sla.policy"]._policies_for(self.company_id)
        for complaint in self:
            policy = policies.get((complaint.company_id.id, complaint.severity))
            complaint.sla_policy_id = policy
            if policy and complaint.date_received:
                complaint.deadline_acknowledge = complaint.date_received + timedelta(hours=policy.hours_to_acknowledge)
                complaint.deadline_resolve = complaint.date_received + timedelta(hours=policy.hours_to_resolve)
            else:
                complaint.deadline_acknowledge = False
                complaint.deadline_resolve = False

    def _compute_sla_state(self):
        now = fields.Datetime.now()
        for complaint in self:
            state = complaint._sla_state_at(now)
            complaint.sla_state = state
            complaint.sla_color = SLA_COLORS[state]
            complaint.is_overdue = state == "overdue"

    def _sla_state_at(self, now):
        self.ensure_one()
        return sla_state(
            now,
            self.date_received,
            self.deadline_acknowledge,
            self.deadline_resolve,
            acknowledged=self.date_acknowledged,
            resolved=self.date_resolved,
        )

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Overdue: search with 'is set' or 'is not set' only."))
        now = fields.Datetime.now()
        domain = [
            ("state", "not in", RESOLVED_STATES),
            "|",
            "&",
            ("date_acknowledged", "=", False),
            ("deadline_acknowledge", "<", now),
            "&",
            ("date_resolved", "=", False),
            ("deadline_resolve", "<", now),
        ]
        if (operator == "=") == value:
            return domain
        return ["!", *expression.normalize_domain(domain)]

    @api.depends("escalation_ids.kind", "escalation_ids.state")
    def _compute_escalated(self):
        for complaint in self:
            kinds = set(complaint.escalation_ids.filtered(lambda e: e.state == "done").mapped("kind"))
            complaint.escalated_ack = "acknowledge" in kinds
            complaint.escalated_resolve = "resolve" in kinds

    def _compute_corrective_action_count(self):
        for complaint in self:
            complaint.corrective_action_count = len(complaint.corrective_action_ids)

    @api.depends("name", "subject")
    def _compute_display_name(self):
        for complaint in self:
            complaint.display_name = f"{complaint.name} {complaint.subject}" if complaint.subject else complaint.name

    @api.onchange("vehicle_id")
    def _onchange_vehicle_id(self):
        if self.vehicle_id.partner_id and not self.partner_id:
            self.partner_id = self.vehicle_id.partner_id

    @api.onchange("visit_id")
    def _onchange_visit_id(self):
        if self.visit_id:
            self.partner_id = self.visit_id.partner_id
            self.vehicle_id = self.visit_id.vehicle_id

    # ------------------------------------------------------------------ constraints
    @api.constrains("visit_id", "partner_id", "vehicle_id")
    def _check_visit_matches(self):
        for complaint in self.filtered("visit_id"):
            if complaint.visit_id.partner_id != complaint.partner_id:
                raise ValidationError(
                    _(
                        "Service Visit: %(visit)s is a visit of %(owner)s, not of %(customer)s.",
                        visit=complaint.visit_id.name,
                        owner=complaint.visit_id.partner_id.display_name,
                        customer=complaint.partner_id.display_name,
                    )
                )
            if complaint.vehicle_id and complaint.vehicle_id != complaint.visit_id.vehicle_id:
                raise ValidationError(
                    _(
                        "Vehicle: %(visit)s was for %(vehicle)s, not for the vehicle of this complaint.",
                        visit=complaint.visit_id.name,
                        vehicle=complaint.visit_id.vehicle_id.display_name,
                    )
                )

    @api.constrains("date_received")
    def _check_date_received(self):
        now = fields.Datetime.now()
        first = datetime(FIRST_COMPLAINT_YEAR, 1, 1)
        for complaint in self:
            if not first <= complaint.date_received <= now + RECEIVED_TOLERANCE:
                raise ValidationError(
                    _(
                        "Received: %(date)s is not a plausible date for %(complaint)s; a complaint is received "
                        "from %(first)s up to now, never in the future.",
                        date=fields.Datetime.context_timestamp(complaint, complaint.date_received).strftime(
                            "%Y-%m-%d %H:%M"
                        ),
                        complaint=complaint.name,
                        first=first.date(),
                    )
                )

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, COMPLAINT_RANGES)
        for vals in vals_list:
            self._check_not_computed(vals)
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                self._owned_fill(vals, "name", self._auto_crm_next_number("auto_crm.complaint", company))
        complaints = super().create(vals_list)
        complaints._attach_evidence()
        # Created above the limit: referred to the managers, approved only by their button.
        complaints._apply_goodwill_authority(approve=False)
        return complaints

    def _check_not_computed(self, vals):
        """Whether the goodwill needs a manager follows from the amount and the store's limit: nobody
        writes it, superuser code included."""
        if "needs_manager" in vals:
            raise UserError(
                _(
                    "Beyond Customer Relations Authority: it follows from the goodwill amount and the store's "
                    "limit; it cannot be written."
                )
            )

    def write(self, vals):
        check_vals(self, [vals], COMPLAINT_RANGES)
        self._check_not_computed(vals)
        if "goodwill_approved_by_id" in vals and not self._workflow_privileged():
            raise UserError(_("Goodwill Approved By: only the Approve Goodwill button of a manager sets it."))
        if "state" in vals and len(vals) > 1 and "goodwill_amount" in vals:
            # The amount first, so the stage guard sees whether it now needs a manager's approval.
            rest = dict(vals)
            state = rest.pop("state")
            self.write(rest)
            return self.write({"state": state})
        if "goodwill_amount" in vals:
            changed = self.filtered(lambda c: c.currency_id.compare_amounts(c.goodwill_amount, vals["goodwill_amount"]))
            # A new amount is a new decision.
            changed.filtered("goodwill_approved_by_id")._workflow_write({"goodwill_approved_by_id": False})
        result = super().write(vals)
        if "evidence_ids" in vals:
            self._attach_evidence()
        if "goodwill_amount" in vals:
            changed._apply_goodwill_authority()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_registered(self):
        for complaint in self:
            if complaint.state != "new" or complaint.corrective_action_ids or complaint.sudo().escalation_ids:
                raise UserError(_("Stage: %s is being handled; archive it instead of deleting it.", complaint.name))

    def _attach_evidence(self):
        """Files uploaded in the evidence field belong to the complaint (so its readers read them)."""
        for complaint in self:
            # Only files not yet attached to any record: another record's file is never taken over.
            loose = complaint.evidence_ids.filtered(lambda a: not a.res_id and a.res_model in (False, self._name))
            loose.sudo().write({"res_model": self._name, "res_id": complaint.id})

    @api.model
    def _create_from_origin(self, vals_list):
        """Create complaints for origin records (``origin_model``/``origin_res_id`` in each vals),
        at most one per origin: origins that already have a complaint get it back instead.

        Safe against a concurrent run: the partial UNIQUE index on the origin refuses a second
        complaint, and each creation is in its own savepoint, so the loser returns the winner's.
        Returns one complaint per distinct origin, in the order of ``vals_list``.
        """
        keys = []
        for vals in vals_list:
            if not vals.get("origin_model") or not vals.get("origin_res_id"):
                raise UserError(_("Origin Model: a complaint created from an origin needs its model and record."))
            keys.append((vals["origin_model"], vals["origin_res_id"]))
        found = self._find_by_origin(keys)
        result = []
        for key, vals in zip(keys, vals_list, strict=True):
            if key not in found:
                try:
                    with self.env.cr.savepoint():
                        found[key] = self.create([vals])
                except IntegrityError:
                    # Another transaction opened it meanwhile: take that one.
                    found.update(self._find_by_origin([key]))
                    if key not in found:
                        raise
            if found[key].id not in result:
                result.append(found[key].id)
        return self.browse(result)

    def _find_by_origin(self, keys):
        """{(origin_model, origin_res_id): complaint} of the complaints, archived too, of these origins."""
        if not keys:
            return {}
        domain = expression.OR(
            [[("origin_model", "=", model), ("origin_res_id", "=", res_id)] for model, res_id in set(keys)]
        )
        existing = self.with_context(active_test=False).search(domain)
        return {(complaint.origin_model, complaint.origin_res_id): complaint for complaint in existing}

    # ------------------------------------------------------------------ workflow
    def _workflow_refused_message(self, old, new):
        return _(
            "Stage: %(complaint)s cannot go from %(old)s to %(new)s. A complaint is acknowledged, "
            "investigated, resolved, confirmed with the customer and closed, in that order.",
            complaint=self.name,
            old=self._workflow_state_label(old),
            new=self._workflow_state_label(new),
        )

    def _workflow_initial_message(self, state):
        return _("Stage: a complaint starts as new; acknowledge it once it is registered.")

    def _workflow_check(self, old, new, vals):
        if new in RESOLVED_STATES:
            for field in ("root_cause", "resolution"):
                if not vals.get(field, self[field]):
                    raise UserError(
                        _(
                            "%(field)s: write down the %(what)s of %(complaint)s before offering the "
                            "resolution or closing it.",
                            field=self._fields[field].get_description(self.env)["string"],
                            what=_("root cause") if field == "root_cause" else _("resolution"),
                            complaint=self.name,
                        )
                    )
            if self.needs_manager and not self.goodwill_approved_by_id:
                raise UserError(
                    _(
                        "Goodwill Amount: %(amount)s on %(complaint)s exceeds the customer relations "
                        "authority of %(limit)s; an after-sales manager must approve it first.",
                        amount=self.goodwill_amount,
                        complaint=self.name,
                        limit=self.goodwill_limit,
                    )
                )

    def action_acknowledge(self):
        self.write({"state": "acknowledged"})

    def action_investigate(self):
        self.write({"state": "investigating"})

    def action_resolve(self):
        self.write({"state": "resolving"})

    def action_await_confirmation(self):
        self.write({"state": "awaiting_confirmation"})

    def action_close(self):
        self.write({"state": "closed"})
        self._announce_confirmation_call()

    def action_reopen(self):
        self.write({"state": "investigating"})

    def action_customer_refused(self):
        self.write({"state": "resolving"})

    # ------------------------------------------------------------------ authority
    def _apply_goodwill_authority(self, approve=True):
        """Goodwill above the store's limit goes to the after-sales managers; a manager who changes
        it on an existing complaint approves it at the same time (``approve``)."""
        beyond = self.filtered(lambda c: c.needs_manager and not c.goodwill_approved_by_id)
        if not beyond:
            return
        if approve and self.env.user.has_group("auto_crm.group_manager") and not self.env.su:
            beyond._workflow_write({"goodwill_approved_by_id": self.env.user.id})
            return
        managers = self._company_managers(beyond.company_id)
        activity_type = self.env.ref("auto_crm.mail_activity_type_complaint_authority", raise_if_not_found=False)
        for complaint in beyond:
            complaint.message_post(
                body=_(
                    "Goodwill of %(amount)s exceeds the customer relations authority of %(limit)s: "
                    "referred to the service department for approval.",
                    amount=complaint.goodwill_amount,
                    limit=complaint.goodwill_limit,
                ),
                subtype_xmlid="mail.mt_note",
            )
            for manager in managers.get(complaint.company_id.id, []):
                complaint.activity_schedule(
                    activity_type_id=activity_type.id if activity_type else False,
                    summary=_("Approve goodwill of %s", complaint.goodwill_amount),
                    user_id=manager.id,
                )

    def action_approve_goodwill(self):
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise AccessError(
                _("Only after-sales managers can approve goodwill beyond the customer relations authority.")
            )
        for complaint in self:
            if not complaint.needs_manager:
                raise UserError(
                    _(
                        "Goodwill Amount: %s is within the customer relations authority; no approval is needed.",
                        complaint.name,
                    )
                )
        self.sudo().write({"goodwill_approved_by_id": self.env.user.id})
        self.activity_feedback(["auto_crm.mail_activity_type_complaint_authority"])

    @api.model
    def _announce_from_callback(self, agent):
        """A complaint a callback just opened (a low score, or the customer complained): the agent
        who closed the call sees a notification at once; the visit's advisor and the store's
        after-sales managers get an activity to act on it."""
        activity_type = self.env.ref("auto_crm.mail_activity_type_complaint_from_callback", raise_if_not_found=False)
        managers = self._company_managers(self.company_id)
        for complaint in self:
            users = complaint.visit_id.advisor_id | self.env["res.users"].union(
                *managers.get(complaint.company_id.id, [])
            )
            for user in users.filtered(lambda u: u.active and not u.share):
                complaint.activity_schedule(
                    activity_type_id=activity_type.id if activity_type else False,
                    summary=_("Call back the dissatisfied customer: %s", complaint.partner_id.name),
                    note=complaint.description,
                    user_id=user.id,
                )
            if agent and not agent.share:
                agent._bus_send(
                    "simple_notification",
                    {
                        "type": "warning",
                        "sticky": True,
                        "title": _("Complaint %s opened", complaint.name),
                        "message": complaint.subject,
                    },
                )

    def _company_managers(self, companies):
        """{company_id: [users]}: the active after-sales managers (and administrators) of each store."""
        group = self.env.ref("auto_crm.group_manager")
        users = (
            self.env["res.users"]
            .sudo()
            .search([("groups_id", "in", group.ids), ("share", "=", False), ("company_ids", "in", companies.ids)])
        )
        result = {}
        for user in users:
            for company in user.company_ids & companies:
                result.setdefault(company.id, []).append(user)
        return result

    # ------------------------------------------------------------------ corrective actions
    def action_view_corrective_actions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_corrective_action_action")
        action["domain"] = [("complaint_ids", "in", self.ids)]
        action["context"] = {
            "default_complaint_ids": [(6, 0, self.ids)],
            "default_origin_type": "complaint",
            "default_company_id": self.company_id.id,
            "default_name": self.subject,
        }
        return action

    # ------------------------------------------------------------------ SLA escalation
    @api.model
    def _cron_escalate_sla(self, batch_size=500):
        """Escalate every SLA breach not escalated yet, once, to the store's after-sales managers.
        Returns the number of breaches processed (0 when another run was in progress).

        Set-based: one query lists the breaches; each batch claims its breaches with one INSERT ...
        ON CONFLICT on the UNIQUE (complaint, kind) index of the escalation log (so a second or a
        concurrent run escalates nothing twice), logs one note per complaint and creates the
        activities in one go. The batches, their savepoints, the retry one complaint at a time and
        the run log are the job runner's (auto_crm.job.run); a breach that still fails is also
        recorded as a failed escalation, retried at the next run.
        """
        now = fields.Datetime.now()
        run = self.env["auto_crm.job.run"]._run_job(
            "complaint_escalation",
            JobStep(
                units=lambda: self._sla_breaches(now),
                process=lambda batch: self._sla_escalate(batch, now),
                model=self._name,
                res_id=lambda unit: unit[0],
                batch_size=batch_size,
                split=self._sla_batches,
                on_failure=lambda unit, error: self._sla_record_failure(unit, now, error),
            ),
        )
        return run.processed_count

    @staticmethod
    def _sla_batches(breaches, batch_size):
        """Batches of about ``batch_size`` breaches that never split the breaches of a complaint
        (so each complaint gets one note); ``breaches`` is ordered by complaint."""
        batch = []
        for unit in breaches:
            if len(batch) >= batch_size and unit[0] != batch[-1][0]:
                yield batch
                batch = []
            batch.append(unit)
        if batch:
            yield batch

    def _sla_breaches(self, now):
        """[(complaint_id, kind)] of the breaches that have no successful escalation yet."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT c.id, b.kind
              FROM auto_crm_complaint c
              CROSS JOIN LATERAL (
                    SELECT 'acknowledge' AS kind
                     WHERE c.date_acknowledged IS NULL AND c.deadline_acknowledge < %(now)s
                    UNION ALL
                    SELECT 'resolve'
                     WHERE c.date_resolved IS NULL AND c.deadline_resolve < %(now)s
                   ) b
             WHERE c.active AND c.state NOT IN %(resolved)s
               AND NOT EXISTS (
                    SELECT 1 FROM auto_crm_complaint_escalation e
                     WHERE e.complaint_id = c.id AND e.kind = b.kind AND e.state = 'done')
             ORDER BY c.id, b.kind
            """,
            {"now": now, "resolved": RESOLVED_STATES},
        )
        return [tuple(row) for row in self.env.cr.fetchall()]

    def _sla_claim(self, units, now):
        """Record the escalations of ``units``; returns those this transaction claimed."""
        self.env.cr.execute(
            """
            INSERT INTO auto_crm_complaint_escalation
                   (complaint_id, kind, company_id, state, date, create_uid, create_date, write_uid, write_date)
            SELECT c.id, u.kind, c.company_id, 'done', %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(ids)s::int[], %(kinds)s::varchar[]) AS u(complaint_id, kind)
              JOIN auto_crm_complaint c ON c.id = u.complaint_id
                ON CONFLICT (complaint_id, kind) DO UPDATE
               SET state = 'done', error = NULL, date = EXCLUDED.date,
                   write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
             WHERE auto_crm_complaint_escalation.state = 'failed'
            RETURNING complaint_id, kind
            """,
            {
                "now": now,
                "uid": self.env.uid,
                "ids": [unit[0] for unit in units],
                "kinds": [unit[1] for unit in units],
            },
        )
        claimed = self.env.cr.fetchall()
        self.env["auto_crm.complaint.escalation"].invalidate_model()
        self.invalidate_model(["escalation_ids"])
        return claimed

    def _sla_escalate(self, units, now):
        claimed = self._sla_claim(units, now)
        if not claimed:
            return None
        kinds_by_complaint = {}
        for complaint_id, kind in claimed:
            kinds_by_complaint.setdefault(complaint_id, []).append(kind)
        complaints = self.sudo().browse(list(kinds_by_complaint))
        self._sla_notify(complaints, kinds_by_complaint)

    def _sla_notify(self, complaints, kinds_by_complaint):
        """One note per complaint and one activity per complaint and manager, in batches."""
        managers = self._company_managers(complaints.company_id)
        labels = dict(ESCALATION_KINDS)
        activity_type = self.env.ref("auto_crm.mail_activity_type_complaint_escalation")
        model_id = self.env["ir.model"]._get_id(self._name)
        today = self.env.company._auto_crm_today()
        bodies = {}
        activity_vals = []
        for complaint in complaints:
            reasons = ", ".join(labels[kind] for kind in kinds_by_complaint[complaint.id])
            users = managers.get(complaint.company_id.id, [])
            bodies[complaint.id] = Markup("%s<br/>%s") % (
                _(
                    "SLA breached: %(reasons)s (severity %(severity)s).",
                    reasons=reasons,
                    severity=dict(SEVERITIES)[complaint.severity],
                ),
                _("Escalated to %s.", ", ".join(user.name for user in users))
                if users
                else _("No after-sales manager in this store to escalate to."),
            )
            for user in users:
                activity_vals.append(
                    {
                        "res_model_id": model_id,
                        "res_id": complaint.id,
                        "activity_type_id": activity_type.id,
                        "summary": _("SLA breached: %s", reasons),
                        "user_id": user.id,
                        "date_deadline": today,
                    }
                )
        complaints._message_log_batch(bodies=bodies)
        if activity_vals:
            self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(activity_vals)

    def _sla_record_failure(self, unit, now, error):
        self.env.cr.execute(
            """
            INSERT INTO auto_crm_complaint_escalation
                   (complaint_id, kind, company_id, state, error, date, create_uid, create_date, write_uid, write_date)
            SELECT c.id, %(kind)s, c.company_id, 'failed', %(error)s, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM auto_crm_complaint c WHERE c.id = %(id)s
                ON CONFLICT (complaint_id, kind) DO UPDATE SET error = EXCLUDED.error, write_date = EXCLUDED.write_date
             WHERE auto_crm_complaint_escalation.state = 'failed'
            """,
            {"id": unit[0], "kind": unit[1], "error": str(error)[:2000], "now": now, "uid": self.env.uid},
        )
        self.env["auto_crm.complaint.escalation"].invalidate_model()

    # ------------------------------------------------------------------ callbacks

    callback_id = fields.Many2one(
        "auto_crm.callback",
        readonly=True,
        copy=False,
        index="btree_not_null",
        check_company=True,
        help="The callback in which the customer complained or gave a low score.",
    )
    confirmation_callback_ids = fields.One2many(
        "auto_crm.callback",
        compute="_compute_confirmation_callback_ids",
        string="Confirmation Callbacks",
    )

    def _compute_confirmation_callback_ids(self):
        callbacks = self.env["auto_crm.callback"].search(
            [("source_model", "=", self._name), ("source_id", "in", self.ids)]
        )
        for complaint in self:
            complaint.confirmation_callback_ids = callbacks.filtered(lambda c, cid=complaint.id: c.source_id == cid)

    def _announce_confirmation_call(self):
        """Tell the chatter when the callback engine will call to confirm the closed complaint."""
        rules = (
            self.env["auto_crm.callback.rule"]
            .sudo()
            .search([("trigger", "=", "complaint_closed"), ("company_id", "in", [False, *self.company_id.ids])])
        )
        if rules:
            # Closed today: the first rule to fall due is the one that calls.
            rule = min(rules, key=lambda r: r._next_due_date())
            due = rule._next_due_date()
            for complaint in self:
                complaint.message_post(
                    body=_(
                        "Closed. The callback rule %(rule)s will schedule the confirmation call for %(date)s.",
                        rule=rule.name,
                        date=due,
                    ),
                    subtype_xmlid="mail.mt_note",
                )
