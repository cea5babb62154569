from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .auto_crm_job_run import LINE_STATES
from .input_limits import check_range, check_vals
from .res_partner import CONTACT_CHANNELS

TRIGGERS = [
    ("service_delivered", "Service visit delivered"),
    ("vehicle_delivered", "New vehicle delivered"),
    ("no_visit", "No visit for N days (win-back)"),
    ("maintenance_due", "Maintenance due"),
    ("warranty_end", "Warranty ending"),
    ("insurance_expiry", "Insurance expiring"),
    ("birthday", "Birthday"),
    ("complaint_closed", "Complaint closed"),
    ("service_due", "Next service due (service plan forecast)"),
    ("annual_inspection", "Annual inspection due"),
    ("at_risk", "Customer at risk of being lost (risk score)"),
]
#: The model whose records are the sources of each trigger (and that the rule's filter applies to).
TRIGGER_SOURCE_MODELS = {
    "service_delivered": "auto_crm.service.visit",
    "vehicle_delivered": "auto_crm.vehicle",
    "no_visit": "auto_crm.service.visit",
    "maintenance_due": "auto_crm.service.visit",
    "warranty_end": "auto_crm.vehicle",
    "insurance_expiry": "auto_crm.vehicle",
    "birthday": "res.partner",
    "complaint_closed": "auto_crm.complaint",
    "service_due": "auto_crm.vehicle",
    "annual_inspection": "auto_crm.vehicle",
    "at_risk": "auto_crm.customer.forecast",
}
#: Triggers whose callback is due some days BEFORE the event (the others: some days after).
BEFORE_TRIGGERS = ("warranty_end", "insurance_expiry", "birthday", "service_due", "annual_inspection")
#: Triggers that recur for the same source (a birthday every year): one callback per source and year.
YEARLY_TRIGGERS = ("warranty_end", "insurance_expiry", "birthday")
#: Reminder triggers (issue 13): the call reminds the customer of something due. A customer's reminders of
#: the same week are one call: a reminder due while the customer has an open call due that week is added
#: to it (auto_crm.callback.reminder) instead of waiting for it to close.
REMINDER_TRIGGERS = (
    "maintenance_due",
    "warranty_end",
    "insurance_expiry",
    "birthday",
    "service_due",
    "annual_inspection",
)
#: A rule's channel: one of the contact channels, or the customer's own preference (issue 13).
RULE_CHANNELS = [("preferred", "Customer's preferred channel"), *CONTACT_CHANNELS]
#: The plausible range of each number of a rule: ten years of days, ten years of months, a car's life in km.
MAX_RULE_DAYS = 3650
RULE_RANGES = {
    "delay_days": (0, MAX_RULE_DAYS),
    "days_before": (0, MAX_RULE_DAYS),
    "window_days": (0, MAX_RULE_DAYS),
    "inactivity_days": (0, MAX_RULE_DAYS),
    "maintenance_months": (0, 120),
    "maintenance_km": (0, 1_000_000),
    "max_attempts": (1, 100),
}
# The win-back by risk score (issue 13): the score runs from 0 to 100.
RULE_RANGES["risk_threshold"] = (0, 100)
ASSIGNMENTS = [
    ("user", "A fixed user"),
    ("round_robin", "Round-robin over a team"),
    ("team", "Team pool (agents take them)"),
    ("manager", "The customer's manager"),
]


class AutoCrmCallbackRule(models.Model):
    _name = "auto_crm.callback.rule"
    _description = "Callback Rule"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "sequence",
        "active",
        "company_id",
        "trigger",
        "delay_days",
        "days_before",
        "window_days",
        "inactivity_days",
        "maintenance_months",
        "maintenance_km",
        "channel",
        "questionnaire_id",
        "assignment",
        "user_id",
        "team_id",
        "domain",
        "max_attempts",
        "note",
        "date_start",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread"]
    _order = "sequence, id"
    _check_company_auto = True

    # The rule is configuration: the engine (auto_crm.callback.engine) plans and runs it.

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(
        default=False,
        tracking=True,
        help="Only active rules are run by the engine. A new rule starts inactive: check its preview, "
        "then switch it on.",
    )
    date_start = fields.Date(
        string="Include Calls Due From",
        tracking=True,
        help="The rule makes only the callbacks due from this day on. A new rule starts from the day it is "
        "created instead of back-filling its window with calls already overdue; set an earlier day to "
        "include past events (at most the window). Empty: the whole window.",
    )
    preview_summary = fields.Text(
        string="Preview",
        compute="_compute_preview_summary",
        help="What the engine would do with this rule if it ran now, updated as you edit the rule.",
    )
    company_id = fields.Many2one(
        "res.company",
        string="Store",
        index=True,
        tracking=True,
        help="The store whose customers this rule calls. Leave empty for a group-wide rule: each "
        "callback then belongs to the store of its visit, car or customer.",
    )
    trigger = fields.Selection(TRIGGERS, required=True, default="service_delivered", tracking=True)
    source_model = fields.Char(compute="_compute_source_model", string="Filter Applies To")
    delay_days = fields.Integer(
        string="Delay (days)",
        default=3,
        tracking=True,
        help="Days after the event (delivery, closing, the N days without a visit, the maintenance "
        "due date) the callback is due.",
    )
    days_before = fields.Integer(
        default=30,
        tracking=True,
        help="For warranty end, insurance expiry and birthdays: days before the date the callback is due.",
    )
    window_days = fields.Integer(
        string="Window (days)",
        default=7,
        tracking=True,
        help="Days the agents have from the due date to complete the callback; afterwards it expires.",
    )
    inactivity_days = fields.Integer(
        string="Days Without a Visit",
        default=180,
        tracking=True,
        help="A customer whose last visit (reception) is this many days old is called to ask why.",
    )
    maintenance_months = fields.Integer(
        string="Maintenance Every (months)",
        default=6,
        help="Maintenance is due this many months after the last delivered visit (0 = do not use).",
    )
    maintenance_km = fields.Integer(
        string="Maintenance Every (km)",
        default=5000,
        help="Maintenance is due after this distance since the last visit, estimated from the car's "
        "own odometer history (0 = do not use). The earlier of the two dates counts.",
    )
    channel = fields.Selection(
        RULE_CHANNELS,
        required=True,
        default="phone",
        tracking=True,
        help="How the customer is contacted. The customer's preferred channel: the one on their profile. When "
        "the customer has none, does not want this channel, or has no e-mail address (e-mail) or mobile (SMS), "
        "the fallback channels are tried in their order.",
    )
    _user_fields = {*_user_fields, "fallback_channels"}
    fallback_channels = fields.Char(
        default="phone",
        size=100,
        tracking=True,
        help="When the customer cannot be reached on the rule's channel: the channels to try, in order, separated "
        "by commas (phone, sms, email, letter, visit, online). A customer reachable on none is not called.",
    )
    questionnaire_id = fields.Many2one(
        "auto_crm.questionnaire",
        tracking=True,
        check_company=True,
        ondelete="set null",
    )
    assignment = fields.Selection(ASSIGNMENTS, required=True, default="round_robin", tracking=True)
    user_id = fields.Many2one(
        "res.users",
        string="Assign To",
        tracking=True,
        domain="[('share', '=', False)]",
        help="The fixed assignee; for 'customer's manager', who gets customers that have no manager.",
    )
    team_id = fields.Many2one("auto_crm.callback.team", tracking=True, check_company=True)
    rr_position = fields.Integer(string="Round-Robin Position", default=0, copy=False, readonly=True)
    domain = fields.Char(
        string="Filter",
        default="[]",
        tracking=True,
        help="Only the sources matching this filter get a callback (e.g. only warranty visits, only one brand).",
    )
    max_attempts = fields.Integer(
        string="Maximum Attempts",
        default=3,
        tracking=True,
        help="Unsuccessful attempts (no answer, busy) after which the callback fails.",
    )
    note = fields.Html()
    # Reminder calls have no questionnaire: the agent follows the rule's script (issue 13).
    _user_fields = {*_user_fields, "script"}
    script = fields.Html(
        translate=True,
        help="What the agent says to the customer, shown on each callback of this rule (in the user's language).",
    )
    callback_ids = fields.One2many("auto_crm.callback", "rule_id", string="Callbacks")
    callback_count = fields.Integer(compute="_compute_callback_count")
    run_ids = fields.One2many("auto_crm.job.run.line", "rule_id", string="Runs")
    last_run_id = fields.Many2one("auto_crm.job.run.line", compute="_compute_last_run")
    last_run_state = fields.Selection(LINE_STATES, compute="_compute_last_run", string="Last Run Result")

    # The win-back by risk score (issue 13): customers whose nightly risk score reaches the threshold.
    _user_fields = {*_user_fields, "risk_threshold"}
    risk_threshold = fields.Integer(
        string="Risk Score From",
        default=60,
        tracking=True,
        help="For customers at risk: the risk score (0-100, computed nightly) from which a customer is called. "
        "Each customer is called once per absence: after their next visit they can be called again.",
    )

    _sql_constraints = [
        (
            "auto_crm_callback_rule_days_positive",
            "CHECK(delay_days >= 0 AND days_before >= 0 AND window_days >= 0 AND inactivity_days >= 0 "
            "AND maintenance_months >= 0 AND maintenance_km >= 0)",
            "Days, months and kilometres of a callback rule cannot be negative.",
        ),
        (
            "auto_crm_callback_rule_attempts_positive",
            "CHECK(max_attempts >= 1)",
            "Maximum Attempts: a callback needs at least one attempt.",
        ),
        (
            "auto_crm_callback_rule_days_bound",
            f"CHECK(delay_days <= {MAX_RULE_DAYS} AND days_before <= {MAX_RULE_DAYS} "
            f"AND window_days <= {MAX_RULE_DAYS} AND inactivity_days <= {MAX_RULE_DAYS})",
            f"Days of a callback rule: at most {MAX_RULE_DAYS} (ten years).",
        ),
    ]

    # ------------------------------------------------------------------ computes
    @api.depends("trigger")
    def _compute_source_model(self):
        for rule in self:
            rule.source_model = TRIGGER_SOURCE_MODELS.get(rule.trigger)

    def _compute_callback_count(self):
        counts = dict(
            self.env["auto_crm.callback"]._read_group([("rule_id", "in", self.ids)], ["rule_id"], ["__count"])
        )
        for rule in self:
            rule.callback_count = counts.get(rule, 0)

    def _compute_last_run(self):
        # Two queries for the whole list, not one per rule (runs are logged in order: the highest id is the last).
        Run = self.env["auto_crm.job.run.line"]
        last = dict(Run._read_group([("rule_id", "in", self.ids)], ["rule_id"], ["id:max"]))
        states = {run.id: run.state for run in Run.browse(last.values())}
        for rule in self:
            rule.last_run_id = last.get(rule)
            rule.last_run_state = states.get(last.get(rule))

    @api.depends(
        "trigger", "delay_days", "days_before", "window_days", "inactivity_days", "maintenance_months",
        "maintenance_km", "domain", "company_id", "date_start", "questionnaire_id", "assignment", "team_id", "user_id",
    )  # fmt: skip
    def _compute_preview_summary(self):
        """The rule form's live preview: the engine's plan of the rule as it is on screen (saved or
        not), counted in a savepoint without creating anything (one query per rule shown)."""
        for rule in self:
            rule.preview_summary = rule._preview_message()[0] if rule.trigger else False

    def _preview_message(self):
        """(message, kind) of the preview of this rule as it is now (saved or being edited)."""
        self.ensure_one()
        Engine = self.env["auto_crm.callback.engine"]
        # Flushed first, then a savepoint that does not clear the caches when it rolls back: the form's
        # onchange keeps the values being edited even when the rule cannot run yet.
        self.env.flush_all()
        try:
            with self.env.cr.savepoint(flush=False):
                stats = Engine._preview(self)
        except Exception as error:  # a filter broken by an upgrade, a deleted questionnaire, a team missing...
            text = error.args[0] if isinstance(error, UserError | ValidationError) and error.args else str(error)
            return _("This rule cannot run as it is: %s", text), "warning"
        message = _(
            "If the engine ran now, this rule would create %(created)s callbacks; %(dnd)s customers due a "
            "call would be skipped for do-not-disturb and %(consent)s for no consent; %(already)s already "
            "have their callback.",
            created=stats["created"],
            dnd=stats["dnd"],
            consent=stats["no_consent"],
            already=stats["already"],
        )
        if stats["open"] or stats["pressure"]:
            message += " " + _(
                "Overlap with other calls: %(open)s customers skipped because they already have an open callback, "
                "%(pressure)s because they reached the store's contact pressure limit.",
                open=stats["open"],
                pressure=stats["pressure"],
            )
        if stats["merged"]:
            message += " " + _(
                "%s reminders would be added to a call of their customer due the same week instead of making "
                "calls of their own.",
                stats["merged"],
            )
        return message, "info"

    @api.model
    def default_get(self, fields_list):
        # Not a field default: the ORM would also stamp it on the rules that exist when the field is
        # added, and they keep their whole window.
        defaults = super().default_get(fields_list)
        if "date_start" in fields_list and "date_start" not in defaults:
            defaults["date_start"] = self.env.company._auto_crm_today()
        return defaults

    # ------------------------------------------------------------------ constraints
    def _fallback_channel_list(self):
        """The rule's fallback channels, in order (an empty list when there are none)."""
        self.ensure_one()
        return [code.strip() for code in (self.fallback_channels or "").split(",") if code.strip()]

    @api.constrains("fallback_channels")
    def _check_fallback_channels(self):
        known = dict(CONTACT_CHANNELS)
        for rule in self:
            for code in rule._fallback_channel_list():
                if code not in known:
                    raise ValidationError(
                        _(
                            "Fallback Channels: %(code)s is not a channel; use %(known)s, separated by commas.",
                            code=code,
                            known=", ".join(known),
                        )
                    )

    @api.constrains(*RULE_RANGES)
    def _check_ranges(self):
        for name, (low, high) in RULE_RANGES.items():
            check_range(self, name, low, high)

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, RULE_RANGES)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], RULE_RANGES)
        return super().write(vals)

    @api.constrains("domain", "trigger")
    def _check_domain(self):
        for rule in self:
            model = TRIGGER_SOURCE_MODELS[rule.trigger]
            try:
                domain = self.env["auto_crm.callback.engine"]._rule_domain(rule, self.env.company._auto_crm_today())
                self.env[model].sudo()._search(domain)
            except Exception as error:
                raise ValidationError(
                    _("Filter: the filter of rule %(rule)s is not valid: %(error)s", rule=rule.name, error=error)
                ) from None

    @api.constrains("assignment", "user_id", "team_id")
    def _check_assignment(self):
        for rule in self:
            if rule.assignment == "user" and not rule.user_id:
                raise ValidationError(_("Assign To: rule %s assigns to a fixed user; choose the user.", rule.name))
            if rule.assignment == "round_robin" and not rule.team_id:
                raise ValidationError(
                    _(
                        "Team: rule %s deals its callbacks round-robin over the agents of a team; choose the team.",
                        rule.name,
                    )
                )
            if rule.assignment == "team" and not rule.team_id:
                raise ValidationError(
                    _("Team: rule %s leaves its callbacks in a team's pool; choose the team.", rule.name)
                )

    # ------------------------------------------------------------------ due date
    def _next_due_date(self, event_date=None):
        """The day a callback of this rule falls due for an event on event_date (today by default):
        the delivery, the closing, the last visit (plus the days without a visit), the day maintenance
        is due, or the warranty end, insurance expiry or birthday (minus the days before). The engine
        and every message announcing a callback use it."""
        self.ensure_one()
        event_date = event_date or self.env.company._auto_crm_today()
        if self.trigger in BEFORE_TRIGGERS:
            days = -self.days_before
        else:
            days = self.delay_days + (self.inactivity_days if self.trigger == "no_visit" else 0)
        return event_date + relativedelta(days=days)

    # ------------------------------------------------------------------ actions
    def action_view_callbacks(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_callback_action")
        action["domain"] = [("rule_id", "=", self.id)]
        action["context"] = {"search_default_group_state": 1}
        return action

    def action_view_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_job_run_line_action")
        action["domain"] = [("rule_id", "=", self.id)]
        return action

    def action_run_now(self):
        """Run the engine for these rules only (admins, from the rule form)."""
        Engine = self.env["auto_crm.callback.engine"]
        Engine._check_run_rights()
        return Engine._notify_runs(Engine.sudo()._run(self.sudo()))

    def action_preview(self):
        """Tell what the engine would do with this rule if it ran now, without creating anything."""
        self.ensure_one()
        message, kind = self._preview_message()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": _("Preview of %s", self.name), "message": message, "type": kind, "sticky": True},
        }

    def _run_engine(self, today=None):
        """Run the engine for these rules (see auto_crm.callback.engine); returns the run's lines."""
        return self.env["auto_crm.callback.engine"]._run_rules(self, today=today)
