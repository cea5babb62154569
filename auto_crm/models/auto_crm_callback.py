from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, format_date, format_datetime, is_html_empty
from odoo.tools.sql import create_index

from ..lib.workflow import CALLBACK_INITIAL, CALLBACK_TRANSITIONS
from .auto_crm_callback_attempt import OUTCOMES
from .input_limits import check_vals
from .res_partner import CONTACT_CHANNELS

CALLBACK_STATES = [
    ("todo", "To Do"),
    ("in_progress", "In Progress"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("expired", "Expired"),
    ("cancel", "Cancelled"),
]
OPEN_STATES = ("todo", "in_progress")
CLOSE_REASONS = [
    ("max_attempts", "Not reached after the maximum attempts"),
    ("refused", "Customer refused"),
    ("wrong_number", "Wrong number"),
    ("expired", "Window passed"),
    ("do_not_disturb", "Customer asked not to be disturbed"),
    ("no_consent", "Customer withdrew consent"),
    ("duplicate", "Duplicate"),
    ("other", "Other"),
]
DUE_STATUSES = [("future", "Later"), ("today", "Today"), ("overdue", "Overdue"), ("closed", "Closed")]
#: Models a callback may come from (the source record).
SOURCE_MODELS = [
    ("auto_crm.service.visit", "Service Visit"),
    ("auto_crm.vehicle", "Vehicle"),
    ("res.partner", "Customer"),
    ("auto_crm.complaint", "Complaint"),
]


class AutoCrmCallback(models.Model):
    _name = "auto_crm.callback"
    _description = "Follow-up Callback"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "company_id",
        "partner_id",
        "vehicle_id",
        "visit_id",
        "questionnaire_id",
        "user_id",
        "team_id",
        "channel",
        "state",
        "close_reason",
        "close_note",
        "date_due",
        "date_expiry",
        "max_attempts",
        "answer_ids",
        "overall_score",
        "issue_tag_ids",
        "lost_reason_id",
        "customer_complains",
        "note",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin", "auto_crm.workflow.mixin"]
    _order = "date_due, id"
    _check_company_auto = True
    _rec_names_search = ["name", "partner_id.name", "partner_id.mobile", "vehicle_id.plate"]

    _workflow_transitions = CALLBACK_TRANSITIONS
    _workflow_initial_states = CALLBACK_INITIAL
    _workflow_stamps = {"done": "date_done"}
    #: Done: whatever reason a failed attempt gave no longer applies; re-opened: nor the closing one.
    _workflow_clear = {
        "done": ("close_reason", "date_next_try"),
        "todo": ("close_reason", "date_next_try"),
        # the agent's day: a next try means nothing once the customer answered or the call closed
        "in_progress": ("date_next_try",),
        "failed": ("date_next_try",),
        "cancel": ("date_next_try",),
    }
    _workflow_kanban_folded = ("done", "failed", "expired", "cancel")

    name = fields.Char(required=True, default=lambda self: _("Callback"), tracking=True)
    company_id = fields.Many2one(
        "res.company", string="Store", required=True, default=lambda self: self.env.company, index=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True, check_company=True
    )
    partner_mobile = fields.Char(related="partner_id.mobile", string="Mobile")
    partner_phone = fields.Char(related="partner_id.phone", string="Phone")
    do_not_disturb = fields.Boolean(related="partner_id.auto_do_not_disturb")
    vehicle_id = fields.Many2one("auto_crm.vehicle", index=True, check_company=True)
    visit_id = fields.Many2one(
        "auto_crm.service.visit", string="Service Visit", index="btree_not_null", check_company=True
    )
    advisor_id = fields.Many2one(related="visit_id.advisor_id", string="Service Advisor")
    source_model = fields.Char(index=True, readonly=True, size=128)
    source_id = fields.Integer(string="Source ID", readonly=True)
    source_period = fields.Integer(
        default=0,
        readonly=True,
        help="For yearly events (birthday, insurance, warranty) the year of the event; 0 otherwise.",
    )
    source_ref = fields.Reference(
        SOURCE_MODELS, compute="_compute_source_ref", string="Source", help="The record this callback is about."
    )
    rule_id = fields.Many2one("auto_crm.callback.rule", index=True, readonly=True, ondelete="restrict")
    trigger = fields.Selection(related="rule_id.trigger")
    questionnaire_id = fields.Many2one("auto_crm.questionnaire", check_company=True)
    survey_kind = fields.Selection(
        related="questionnaire_id.kind",
        store=True,
        index=True,
        string="Survey Kind",
        help="The kind of the questionnaire: only after-service calls count in the satisfaction index (CSI).",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Assigned To",
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
    )
    team_id = fields.Many2one("auto_crm.callback.team", index=True, tracking=True, check_company=True)
    channel = fields.Selection(CONTACT_CHANNELS, required=True, default="phone", tracking=True)
    state = fields.Selection(
        CALLBACK_STATES,
        string="Status",
        required=True,
        default="todo",
        tracking=True,
        copy=False,
        group_expand="_group_expand_states",
    )
    close_reason = fields.Selection(CLOSE_REASONS, tracking=True, copy=False)
    close_note = fields.Char(string="Closing Note", tracking=True, copy=False)
    date_due = fields.Date(
        string="Due", required=True, default=lambda self: self.env.company._auto_crm_today(), index=True, tracking=True
    )
    date_expiry = fields.Date(string="Expires", index=True, tracking=True, help="The callback expires after this day.")
    date_done = fields.Datetime(string="Completed On", readonly=True, copy=False)
    due_status = fields.Selection(
        DUE_STATUSES,
        compute="_compute_due_status",
        search="_search_due_status",
        help="Today is the user's day, in the user's time zone, on the board as in its filters.",
    )
    max_attempts = fields.Integer(string="Maximum Attempts", default=3)
    date_next_try = fields.Datetime(
        string="Next Try",
        readonly=True,
        copy=False,
        tracking=True,
        help="Set when an attempt was not answered (no answer, busy): when to call again, by the store's "
        "retry setting (some hours later, or the next day at opening).",
    )
    attempt_ids = fields.One2many("auto_crm.callback.attempt", "callback_id", string="Attempts")
    attempt_count = fields.Integer(compute="_compute_attempt_count", string="Attempts Made")
    answer_ids = fields.One2many("auto_crm.callback.answer", "callback_id", string="Answers")
    overall_score = fields.Integer(
        string="Overall Satisfaction",
        default=0,
        aggregator="avg",
        tracking=True,
        help="From 1 (very dissatisfied) to 5 (very satisfied); 0 = not given. Taken from the "
        "answer to the 'Overall' question when the questionnaire has one.",
    )
    issue_tag_ids = fields.Many2many(
        "auto_crm.callback.issue.tag",
        "auto_crm_callback_issue_tag_rel",
        "callback_id",
        "tag_id",
        string="Issues Raised",
    )
    lost_reason_id = fields.Many2one(
        "auto_crm.lost.reason",
        string="Reason for Leaving",
        tracking=True,
        help="Win-back calls: why the customer stopped coming.",
    )
    customer_complains = fields.Boolean(tracking=True, help="The customer made a complaint during the call.")
    note = fields.Html(string="Call Notes")
    # Reminder calls (issue 13): what the call reminds the customer of, and what the agent says.
    reminder_ids = fields.One2many("auto_crm.callback.reminder", "callback_id", string="Reminders", readonly=True)
    script = fields.Html(related="rule_id.script", string="Script", help="What the agent says: the rule's script.")

    _sql_constraints = [
        (
            "auto_crm_callback_source_uniq",
            "unique(rule_id, source_model, source_id, source_period)",
            "This rule already created a callback for this record.",
        ),
        (
            # Contact pressure (issue 12): one open callback per customer and store, whatever made it
            # (a rule, a person, a re-opening) and whoever runs at the same time; the engine's
            # INSERT ... ON CONFLICT DO NOTHING skips against it.
            "auto_crm_callback_one_open",
            "EXCLUDE USING btree (partner_id WITH =, company_id WITH =) WHERE (state IN ('todo', 'in_progress'))",
            "Customer: this customer already has an open callback in this store; a customer is called once at a time.",
        ),
        (
            "auto_crm_callback_overall_score_range",
            "CHECK(overall_score BETWEEN 0 AND 5)",
            "Overall Satisfaction goes from 0 (not given) to 5.",
        ),
    ]

    def _auto_init(self):
        # Before the one-open-callback constraint is added (the first upgrade that has it).
        cr = self.env.cr
        cr.execute("SELECT 1 FROM pg_constraint WHERE conname = 'auto_crm_callback_auto_crm_callback_one_open'")
        if not cr.rowcount:
            cr.execute("SELECT to_regclass('auto_crm_callback') IS NOT NULL")
            if cr.fetchone()[0]:
                self._cancel_extra_open_callbacks()
        return super()._auto_init()

    @api.model
    def _cancel_extra_open_callbacks(self):
        """The upgrade to one open callback per customer and store (issue 12): a customer's extra
        open callbacks are cancelled as duplicates, the call in progress (else the earliest due)
        kept. Returns how many were cancelled (SQL: it runs before the constraint and the ORM)."""
        self.env.cr.execute(
            """UPDATE auto_crm_callback callback
                  SET state = 'cancel', close_reason = 'duplicate',
                      close_note = 'Another open callback of this customer is kept.'
                 FROM (SELECT id, row_number() OVER (PARTITION BY partner_id, company_id
                                                     ORDER BY state = 'in_progress' DESC, date_due, id) AS rn
                         FROM auto_crm_callback WHERE state IN ('todo', 'in_progress')) extra
                WHERE extra.id = callback.id AND extra.rn > 1"""
        )
        return self.env.cr.rowcount

    def init(self):
        # The agents' board (My Calls Today: open, due today or overdue, mine or my team's unassigned)
        # and its columns in the board's order. The (state, date_due) index replaces the plain state
        # index, which the planner preferred and then filtered every open callback's row on the heap.
        self.env.cr.execute("DROP INDEX IF EXISTS auto_crm_callback__state_index")
        create_index(self.env.cr, "auto_crm_callback_state_due_idx", self._table, ["state", "date_due", "id"])
        # Contact pressure: the engine counts a customer's callbacks of the last days (issue 12).
        create_index(
            self.env.cr,
            "auto_crm_callback_partner_due_idx",
            self._table,
            ["partner_id", "company_id", "date_due"],
            where="state != 'cancel'",
        )
        # A period of some stores (the monthly report, the exports): the stores' months, read by one
        # index. Without it, a manager choosing every store of a group gets the due-date index ANDed
        # with the whole store index (the store filter and the store rule together look selective to
        # the planner): measured at 1m callbacks in 20 stores, the report's query 290 ms -> 155 ms.
        create_index(self.env.cr, "auto_crm_callback_company_due_idx", self._table, ["company_id", "date_due"])
        create_index(
            self.env.cr,
            "auto_crm_callback_open_user_due_idx",
            self._table,
            ["user_id", "date_due", "id"],
            where="state IN ('todo', 'in_progress')",
        )

    # ------------------------------------------------------------------ computes
    @api.depends("source_model", "source_id")
    def _compute_source_ref(self):
        known = dict(SOURCE_MODELS)
        for callback in self:
            model = callback.source_model
            callback.source_ref = (
                f"{model},{callback.source_id}"
                if model in known and model in self.env and callback.source_id
                else False
            )

    @api.depends("date_due", "state", "company_id")
    def _compute_due_status(self):
        days = {}
        for callback in self:
            store = callback.company_id
            today = days[store] = days.get(store) or store._auto_crm_today()
            if callback.state not in OPEN_STATES:
                callback.due_status = "closed"
            elif not callback.date_due or callback.date_due > today:
                callback.due_status = "future"
            elif callback.date_due == today:
                callback.due_status = "today"
            else:
                callback.due_status = "overdue"

    def _search_due_status(self, operator, value):
        """The board's filters ("My Calls Today", "Overdue") search here, on the server, so that
        "today" is the same day as the badge's and the engine's: the store's day (its time zone),
        not the browser's clock."""
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(_("Due Status: search with 'is', 'is not', 'is in' or 'is not in' only."))
        values = {value} if operator in ("=", "!=") else set(value)
        unknown = values - {"closed", "future", "today", "overdue"}
        if unknown:
            raise UserError(_("Due Status: %s is not a due status.", ", ".join(map(str, sorted(unknown)))))
        # One day per store: the stores the user works in (a callback is always in one of them).
        by_day = {}
        for store in self.env.user.company_ids | self.env.companies:
            by_day.setdefault(store._auto_crm_today(), []).append(store.id)

        def by_store(op):
            return expression.OR([[("company_id", "in", ids), ("date_due", op, day)] for day, ids in by_day.items()])

        domains = {
            "closed": [("state", "not in", OPEN_STATES)],
            "future": [("state", "in", OPEN_STATES), "|", ("date_due", "=", False), *by_store(">")],
            "today": [("state", "in", OPEN_STATES), *by_store("=")],
            "overdue": [("state", "in", OPEN_STATES), *by_store("<")],
        }
        if {"today", "overdue"} <= values:
            # The board's "My Calls Today": one range, date_due <= today, that the (state, date_due)
            # index answers, rather than two (= today, < today) the planner can only filter with.
            domains["today"] = [("state", "in", OPEN_STATES), *by_store("<=")]
            values = values - {"overdue"}
        domain = expression.OR([domains[status] for status in values]) if values else expression.FALSE_DOMAIN
        return domain if operator in ("=", "in") else ["!", *expression.normalize_domain(domain)]

    def _compute_attempt_count(self):
        counts = dict(
            self.env["auto_crm.callback.attempt"]._read_group(
                [("callback_id", "in", self.ids)], ["callback_id"], ["__count"]
            )
        )
        for callback in self:
            callback.attempt_count = counts.get(callback, 0)

    @api.depends("name", "partner_id")
    def _compute_display_name(self):
        for callback in self:
            callback.display_name = callback.name or callback.partner_id.display_name or _("Callback")

    # ------------------------------------------------------------------ constraints and CRUD
    def _check_one_open(self, targets):
        """A customer has at most one open callback per store (contact pressure, issue 12).

        ``targets``: ``[(record or None, partner_id, company_id)]`` of the callbacks about to be open
        (created, re-opened, moved to another customer or store). Checked before the database sees
        them, with a sentence naming the call that is open; the exclusion constraint holds it
        against concurrent creations."""
        keys = [(record, partner, company) for record, partner, company in targets if partner and company]
        if not keys:
            return
        # (the callbacks' pending changes first: a call cancelled just before frees its customer)
        self.flush_model(["state", "partner_id", "company_id"])
        moving = [record.id for record, _partner, _company in keys if record]
        others = self.sudo().search(
            [
                ("partner_id", "in", list({partner for _record, partner, _company in keys})),
                ("company_id", "in", list({company for _record, _partner, company in keys})),
                ("state", "in", OPEN_STATES),
                ("id", "not in", moving),
            ]
        )
        seen = {}
        for record, partner, company in keys:
            other = others.filtered(lambda o, p=partner, c=company: o.partner_id.id == p and o.company_id.id == c)[:1]
            other = other or seen.get((partner, company))
            if other:
                customer = self.env["res.partner"].sudo().browse(partner)
                raise ValidationError(
                    _(
                        "Customer: %(customer)s already has an open callback in %(store)s (%(callback)s, due "
                        "%(due)s); a customer is called once at a time. Work or cancel that one first.",
                        customer=customer.display_name,
                        store=other.company_id.name,
                        callback=other.name or _("a new callback"),
                        due=format_date(self.env, other.date_due) if other.date_due else "-",
                    )
                )
            seen[(partner, company)] = record or self.sudo().new({"company_id": company, "partner_id": partner})

    @api.constrains("user_id", "visit_id")
    def _check_independent_agent(self):
        """The customer-relations function is independent (issue 15): the service advisor of a visit
        never does the callback about it - not assigned, not taken, not logging its attempts."""
        for callback in self:
            advisor = callback.sudo().visit_id.advisor_id
            if callback.user_id and advisor and callback.user_id == advisor:
                raise ValidationError(
                    _(
                        "Assigned To: %(user)s was the service advisor of %(visit)s and cannot do its callback; "
                        "callbacks are made by someone independent of the visit.",
                        user=advisor.name,
                        visit=callback.sudo().visit_id.name,
                    )
                )

    @api.constrains("date_due", "date_expiry")
    def _check_dates(self):
        for callback in self:
            if callback.date_expiry and callback.date_due and callback.date_expiry < callback.date_due:
                raise ValidationError(_("Expires: the callback %s cannot expire before it is due.", callback.name))

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        for vals in vals_list:
            if vals.get("partner_id"):
                partner = self.env["res.partner"].browse(vals["partner_id"])
                partner._auto_crm_check_callable()
                if not vals.get("name"):
                    vals["name"] = _("Callback: %s", partner.name)
        self._check_one_open(
            [
                (None, vals.get("partner_id"), vals.get("company_id") or self.env.company.id)
                for vals in vals_list
                if vals.get("state", "todo") in OPEN_STATES
            ]
        )
        return super().create(vals_list)

    def write(self, vals):
        # The limits of the values and one open call per customer; the workflow's guard is the mixin's write().
        check_vals(self, [vals])
        if {"state", "partner_id", "company_id"} & set(vals):
            self._check_one_open(
                [
                    (
                        callback,
                        vals.get("partner_id", callback.partner_id.id),
                        vals.get("company_id", callback.company_id.id),
                    )
                    for callback in self
                    if vals.get("state", callback.state) in OPEN_STATES
                    and (callback.state not in OPEN_STATES or "partner_id" in vals or "company_id" in vals)
                ]
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_untouched(self):
        for callback in self:
            record = callback.sudo()
            if callback.state != "todo" or record.attempt_ids or record.answer_ids or record.rule_id:
                raise UserError(
                    _(
                        "Status: %s has a history (a rule, attempts or a result); cancel it instead of deleting it.",
                        callback.name,
                    )
                )

    def _check_history_kept(self):
        """The attempts and answers of a closed callback are its history: they stay."""
        closed = self.filtered(lambda c: c.state not in ("todo", "in_progress"))
        if closed:
            raise UserError(
                _(
                    "Status: %s is closed; its attempts and answers stay on record.",
                    closed[0].name,
                )
            )

    # ------------------------------------------------------------------ workflow
    def _check_open(self):
        """Refuse to work a callback the table no longer lets reach done."""
        for callback in self:
            if (callback.state, "done") not in self._workflow_transitions:
                raise UserError(
                    _(
                        "Status: %(callback)s is %(state)s and can no longer be worked.",
                        callback=callback.name,
                        state=dict(CALLBACK_STATES)[callback.state],
                    )
                )

    def _workflow_denied_message(self, old, new):
        if new == "todo":
            return _("Status: only after-sales managers can re-open a callback.")
        return super()._workflow_denied_message(old, new)

    def _workflow_check(self, old, new, vals):
        if new == "done":
            missing = self._missing_required_questions()
            if missing:
                raise UserError(
                    _(
                        "Answers: %(callback)s needs an answer to every required question before it is done; "
                        "missing: %(questions)s.",
                        callback=self.name,
                        questions="; ".join(missing.mapped("name")),
                    )
                )
        elif new == "failed" and not vals.get("close_reason", self.close_reason):
            raise UserError(_("Close Reason: say why %s failed.", self.name))
        elif new == "cancel" and not (
            vals.get("close_reason", self.close_reason) or vals.get("close_note", self.close_note)
        ):
            raise UserError(_("Closing Note: say why %s is cancelled.", self.name))

    def _missing_required_questions(self):
        """The required questions of this callback without a score: answers without a score, and
        required active questions of the questionnaire that have no answer row yet."""
        self.ensure_one()
        unanswered = self.answer_ids.filtered(lambda a: a.required and not a.score).question_id
        required = self.questionnaire_id.question_ids.filtered(lambda q: q.active and q.required)
        return unanswered | (required - self.answer_ids.question_id)

    def _on_enter_state(self, state):
        """Entering done: the mixin has stamped date_done and cleared close_reason (its tables
        above); then, in this order, the index is computed from the answers and a low score opens a
        complaint. A plain write of the state does exactly what the button does."""
        if state in ("in_progress", "done"):
            self._log_answered()
        if state == "done":
            self._compute_csi_sql()
            self._open_complaints()

    def _ensure_answers(self):
        """One answer row per active question of the questionnaire, created when the call starts."""
        vals_list = []
        for callback in self.filtered("questionnaire_id"):
            answered = callback.answer_ids.question_id
            questions = callback.questionnaire_id.question_ids.filtered("active") - answered
            vals_list += [{"callback_id": callback.id, "question_id": question.id} for question in questions]
        if vals_list:
            self.env["auto_crm.callback.answer"].sudo().create(vals_list)

    def action_take(self):
        """An agent takes an unassigned callback of the team."""
        self._check_open()
        for callback in self:
            if callback.user_id and callback.user_id != self.env.user:
                raise UserError(
                    _(
                        "Assigned To: %(callback)s is already assigned to %(user)s.",
                        callback=callback.name,
                        user=callback.user_id.name,
                    )
                )
        self.write({"user_id": self.env.user.id})

    def action_start(self):
        self._check_open()
        self._ensure_answers()
        self.filtered(lambda c: c.state == "todo").write({"state": "in_progress"})

    def action_log_attempt(self):
        self.ensure_one()
        self._check_open()
        return {
            "type": "ir.actions.act_window",
            "name": _("Log Attempt"),
            "res_model": "auto_crm.callback.attempt",
            "view_mode": "form",
            "views": [(self.env.ref("auto_crm.auto_crm_callback_attempt_view_form_dialog").id, "form")],
            "target": "new",
            "context": {"default_callback_id": self.id, "default_channel": self.channel},
        }

    def action_done(self):
        self._check_open()
        self._ensure_answers()
        self.write({"state": "done"})

    def action_fail(self):
        self._check_open()
        self.write({"state": "failed"})

    def action_cancel(self):
        self._check_open()
        self.write({"state": "cancel"})

    def action_reset(self):
        """Managers bring back a failed, expired or cancelled callback (not a done one: its answers
        count); who may, and from which states, is the transition table."""
        for callback in self:
            if (callback.state, "todo") not in self._workflow_transitions:
                raise UserError(
                    _("Status: only failed, expired or cancelled callbacks can be re-opened (%s).", callback.name)
                )
        self.partner_id._auto_crm_check_callable()
        for callback in self:
            today = callback.company_id._auto_crm_today()
            vals = {"state": "todo"}
            if callback.date_expiry and callback.date_expiry < today:
                vals["date_expiry"] = today + (callback.date_expiry - callback.date_due)
            callback.write(vals)

    def _register_attempts(self, attempts):
        """Apply logged attempts to their callbacks: answered starts the call; refused and wrong
        number close it as failed; no answer and busy count towards the maximum attempts and move
        the call on (``_register_unanswered``)."""
        for callback in self:
            mine = attempts.filtered(lambda a, c=callback: a.callback_id == c).sorted("date")
            for attempt in mine:
                if callback.state not in OPEN_STATES:
                    break
                if attempt.outcome == "answered":
                    callback.action_start()
                elif attempt.outcome in ("refused", "wrong_number"):
                    callback.write({"state": "failed", "close_reason": attempt.outcome})
                elif attempt.outcome in ("no_answer", "busy"):
                    callback._register_unanswered(attempt)

    def _register_unanswered(self, attempt):
        """A call not answered moves on: it goes to the agent who tried (when nobody had it), the
        next try is set by the store's retry setting, the chatter says so, and after the maximum
        attempts it fails. The attempt itself makes the call count as executed in the monthly report."""
        self.ensure_one()
        outcomes = dict(self.env["auto_crm.callback.attempt"]._fields["outcome"]._description_selection(self.env))
        unsuccessful = self.attempt_ids.filtered(lambda a: a.outcome in ("no_answer", "busy"))
        tried = len(unsuccessful)
        if tried >= self.max_attempts:
            self.message_post(
                body=_(
                    "%(outcome)s (attempt %(tried)s of %(max)s, %(agent)s): not reached after the maximum "
                    "attempts, the callback failed.",
                    outcome=outcomes[attempt.outcome],
                    tried=tried,
                    max=self.max_attempts,
                    agent=attempt.user_id.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
            self.write({"state": "failed", "close_reason": "max_attempts"})
            return
        if not self.user_id and attempt.user_id and not attempt.user_id.share:
            self.write({"user_id": attempt.user_id.id})
        store = self.company_id
        next_try = store._auto_crm_next_try(attempt.date)
        self._owned_write({"date_next_try": next_try})
        self.message_post(
            body=_(
                "%(outcome)s (attempt %(tried)s of %(max)s, %(agent)s): next try %(when)s.",
                outcome=outcomes[attempt.outcome],
                tried=tried,
                max=self.max_attempts,
                agent=attempt.user_id.name,
                when=format_datetime(self.env, next_try, tz=store._auto_crm_tz_name(), dt_format="short"),
            ),
            subtype_xmlid="mail.mt_note",
        )

    def _log_answered(self):
        """A call worked without a logged attempt (Start Call, Done) was answered: log that attempt,
        so that a done call shows its attempt and counts as executed."""
        callbacks = self.filtered(lambda c: c.state in ("in_progress", "done"))
        if not callbacks:
            return
        Attempt = self.env["auto_crm.callback.attempt"]
        answered = {
            callback.id
            for [callback] in Attempt._read_group(
                [("callback_id", "in", callbacks.ids), ("outcome", "=", "answered")], ["callback_id"]
            )
        }
        vals_list = [
            {"callback_id": callback.id, "channel": callback.channel, "outcome": "answered"}
            for callback in callbacks
            if callback.id not in answered
        ]
        if vals_list:
            Attempt._owned_env().create(vals_list)

    # ------------------------------------------------------------------ engine housekeeping (SQL, set-based)
    @api.model
    def _expire_overdue(self, today=None):
        """Expire the open callbacks whose window has passed: before ``today``, else before each
        store's own day. One statement whatever their number."""
        self.env.flush_all()
        companies = self.env["res.company"].sudo().with_context(active_test=False).search([])
        days = [(company.id, today or company._auto_crm_today()) for company in companies]
        self.env.cr.execute(
            SQL(
                """UPDATE auto_crm_callback callback
                      SET state = 'expired', close_reason = 'expired', write_uid = %s,
                          write_date = now() at time zone 'UTC'
                     FROM (VALUES %s) AS store(company_id, today)
                    WHERE store.company_id = callback.company_id AND callback.state IN ('todo', 'in_progress')
                      AND callback.date_expiry < store.today::date
                RETURNING callback.id""",
                self.env.uid,
                SQL(", ").join(SQL("(%s, %s)", company_id, day) for company_id, day in days),
            )
        )
        count = len(self.env.cr.fetchall())
        if count:
            self.invalidate_model(["state", "close_reason", "write_uid", "write_date"])
        return count

    @api.model
    def _cancel_do_not_disturb(self, partners=None):
        """Cancel the open callbacks of customers who are now do-not-disturb."""
        self.env.flush_all()
        where = "AND partner.id IN %s" if partners else ""
        params = [self.env.uid] + ([tuple(partners.ids)] if partners else [])
        self.env.cr.execute(
            f"""UPDATE auto_crm_callback callback
                  SET state = 'cancel', close_reason = 'do_not_disturb', write_uid = %s,
                      write_date = now() at time zone 'UTC'
                 FROM res_partner partner
                WHERE partner.id = callback.partner_id AND partner.auto_do_not_disturb
                  AND callback.state IN ('todo', 'in_progress') {where}
            RETURNING callback.id""",
            params,
        )
        count = len(self.env.cr.fetchall())
        if count:
            self.invalidate_model(["state", "close_reason", "write_uid", "write_date"])
        return count

    # ------------------------------------------------------------------ satisfaction index

    csi = fields.Float(
        string="Satisfaction Index",
        readonly=True,
        copy=False,
        aggregator="avg",
        digits=(5, 1),
        help="Customer satisfaction index (0-100) of the answers, weighted with the AHP weights of "
        "the store's satisfaction hierarchy active when the callback was done.",
    )
    csi_hierarchy_id = fields.Many2one(
        "auto_crm.csi.hierarchy",
        string="Index Weights Used",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="restrict",
        help="The version of the satisfaction hierarchy whose weights gave this index; empty when "
        "no index could be computed (no active hierarchy, or no scored answer).",
    )

    def _compute_csi_sql(self):
        """Compute and store the CSI of these done callbacks in one statement.

        A callback that already has an index keeps its hierarchy version (answers corrected later
        are re-weighted with the same weights); the others take their store's active hierarchy, or
        their dealer group's (``res.company._auto_crm_weighting_sql``).
        Callbacks without any scored answer on a leaf step keep an empty index.
        """
        callbacks = self.filtered(lambda c: c.state == "done")
        if not callbacks:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH target AS (
                    SELECT c.id, COALESCE(c.csi_hierarchy_id, %(weighting)s) AS hierarchy_id
                      FROM auto_crm_callback c
                      JOIN res_company store ON store.id = c.company_id
                      LEFT JOIN auto_crm_csi_hierarchy h ON h.company_id = c.company_id AND h.state = 'active'
                      LEFT JOIN auto_crm_csi_hierarchy gh ON gh.company_id = store.parent_id AND gh.state = 'active'
                     WHERE c.id IN %(ids)s AND c.state = 'done'
                ),
                leaf AS (
                    SELECT t.id AS callback_id, t.hierarchy_id, cr.global_weight,
                           AVG((a.score_value - 1) * 25.0) AS score
                      FROM target t
                      JOIN auto_crm_csi_criterion cr ON cr.hierarchy_id = t.hierarchy_id AND cr.step IS NOT NULL
                      JOIN auto_crm_callback_answer a
                        ON a.callback_id = t.id AND a.step = cr.step AND a.score_value BETWEEN 1 AND 5
                     WHERE NOT EXISTS (SELECT 1 FROM auto_crm_csi_criterion ch WHERE ch.parent_id = cr.id)
                  GROUP BY t.id, t.hierarchy_id, cr.id, cr.global_weight
                ),
                result AS (
                    SELECT callback_id, hierarchy_id,
                           SUM(global_weight * score) / NULLIF(SUM(global_weight), 0) AS csi
                      FROM leaf
                  GROUP BY callback_id, hierarchy_id
                )
                UPDATE auto_crm_callback c
                   SET csi = r.csi,
                       csi_hierarchy_id = CASE WHEN r.csi IS NULL THEN NULL ELSE r.hierarchy_id END
                  FROM target t
                  LEFT JOIN result r ON r.callback_id = t.id
                 WHERE c.id = t.id
                """,
                ids=tuple(callbacks.ids),
                # the store's own weighting, or its dealer group's (res_company_groupfig.py)
                weighting=self.env["res.company"]._auto_crm_weighting_sql(
                    SQL.identifier("store"), SQL.identifier("h"), SQL.identifier("gh")
                ),
            )
        )
        callbacks.invalidate_recordset(["csi", "csi_hierarchy_id"])

    @api.model
    def _recompute_missing_csi(self):
        """Give an index to the done callbacks that have none (e.g. done before a hierarchy was
        active); callbacks that have one keep it. Used by the demo data and after an upgrade."""
        self.env.cr.execute("SELECT id FROM auto_crm_callback WHERE state = 'done' AND csi_hierarchy_id IS NULL")
        ids = [row[0] for row in self.env.cr.fetchall()]
        self.browse(ids)._compute_csi_sql()
        return len(ids)

    # ------------------------------------------------------------------ the callback card: attempts at a glance

    attempt_progress = fields.Char(
        compute="_compute_attempt_progress",
        string="Attempts / Maximum",
        help="Attempts made so far, of the maximum the callback's rule allows.",
    )
    last_outcome = fields.Selection(OUTCOMES, compute="_compute_attempt_progress")

    def _compute_attempt_progress(self):
        """Attempts made of the maximum ("1/3") and the latest attempt's outcome, for a whole board
        column in one query."""
        counts = {}
        ids = tuple(self._origin.ids)
        if ids:
            self.env["auto_crm.callback.attempt"].flush_model(["callback_id", "outcome", "date"])
            self.env.cr.execute(
                """SELECT DISTINCT ON (callback_id) callback_id, COUNT(*) OVER (PARTITION BY callback_id), outcome
                     FROM auto_crm_callback_attempt
                    WHERE callback_id IN %s
                 ORDER BY callback_id, date DESC, id DESC""",
                (ids,),
            )
            counts = {callback_id: (count, outcome) for callback_id, count, outcome in self.env.cr.fetchall()}
        for callback in self:
            count, outcome = counts.get(callback._origin.id, (0, False))
            callback.attempt_progress = f"{count}/{callback.max_attempts}"
            callback.last_outcome = outcome

    # ------------------------------------------------------------------ complaints

    complaint_ids = fields.One2many("auto_crm.complaint", "callback_id", string="Complaints")
    complaint_count = fields.Integer(compute="_compute_complaint_count")

    def _compute_complaint_count(self):
        counts = dict(
            self.env["auto_crm.complaint"]._read_group([("callback_id", "in", self.ids)], ["callback_id"], ["__count"])
        )
        for callback in self:
            callback.complaint_count = counts.get(callback, 0)

    def action_view_complaints(self):
        """The callback's complaint itself (its form) when it opened one; the list when several."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_complaint_action")
        complaints = self.complaint_ids
        action["context"] = {"create": False}
        if len(complaints) == 1:
            action.update({"res_id": complaints.id, "view_mode": "form", "views": [(False, "form")], "domain": []})
            return action
        action["domain"] = [("callback_id", "=", self.id)]
        return action

    def _complaint_reason(self):
        """Why this done callback must open a complaint, as the complaint's subject (a sentence in
        the user's language), or False."""
        self.ensure_one()
        threshold = self.company_id.complaint_callback_score_threshold
        customer = self.partner_id.name
        if self.customer_complains:
            return _("%s complained during the follow-up call", customer)
        if self.overall_score and self.overall_score <= threshold:
            return _(
                "%(customer)s is dissatisfied: rated us %(score)s out of 5 in the follow-up call",
                customer=customer,
                score=self.overall_score,
            )
        return False

    def _complaint_description(self):
        """The complaint's account of what the customer said: the agent's comments per question,
        the issues raised, the call notes, and why the complaint was opened."""
        self.ensure_one()
        parts = []
        threshold = self.company_id.complaint_callback_score_threshold
        if self.overall_score and self.overall_score <= threshold:
            parts.append(
                Markup("<p>%s</p>")
                % _(
                    "Overall satisfaction %(score)s of 5 (the store opens a complaint at %(threshold)s or below).",
                    score=self.overall_score,
                    threshold=threshold,
                )
            )
        said = self.answer_ids.filtered(lambda a: a.comment or (a.score and a.score_value <= threshold))
        if said:
            parts.append(Markup("<p><strong>%s</strong></p>") % _("What the customer said"))
            items = Markup("")
            for answer in said.sorted("sequence"):
                line = (
                    _("%(question)s: %(score)s of 5", question=answer.question_id.name, score=answer.score_value)
                    if answer.score
                    else answer.question_id.name
                )
                comment = Markup(" — %s") % answer.comment if answer.comment else ""
                items += Markup("<li>%s%s</li>") % (line, comment)
            parts.append(Markup("<ul>%s</ul>") % items)
        if self.issue_tag_ids:
            parts.append(
                Markup("<p><strong>%s</strong> %s</p>")
                % (_("Issues raised:"), ", ".join(self.issue_tag_ids.mapped("name")))
            )
        if not is_html_empty(self.note):
            parts.append(Markup("<p><strong>%s</strong></p>") % _("Call notes"))
            parts.append(self.note)
        return Markup("").join(parts) or False

    def _open_complaints(self):
        """Open one complaint per callback that calls for it; a second call opens nothing more.
        The complaint carries what the customer said; the agent is told at once, and the visit's
        advisor and the store's after-sales managers get an activity."""
        vals_list = []
        for callback in self:
            reason = callback._complaint_reason()
            if not reason:
                continue
            vals_list.append(
                {
                    "subject": reason,
                    "partner_id": callback.partner_id.id,
                    "vehicle_id": callback.vehicle_id.id,
                    "visit_id": callback.visit_id.id,
                    "company_id": callback.company_id.id,
                    "channel": "callback",
                    "callback_id": callback.id,
                    "origin_model": callback._name,
                    "origin_res_id": callback.id,
                    "description": callback._complaint_description(),
                }
            )
        if not vals_list:
            return self.env["auto_crm.complaint"]
        # Agents may not see every store's complaint settings; the origin index keeps it to one each.
        Complaint = self.env["auto_crm.complaint"].sudo()
        known = Complaint._find_by_origin([(vals["origin_model"], vals["origin_res_id"]) for vals in vals_list])
        complaints = Complaint._create_from_origin(vals_list)
        fresh = complaints.filtered(lambda c: (c.origin_model, c.origin_res_id) not in known)
        fresh._announce_from_callback(self.env.user)
        return complaints.sudo(False)
