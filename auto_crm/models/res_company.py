import datetime
from types import SimpleNamespace

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .input_limits import check_vals

#: Fields a complete customer profile holds when a store has not chosen its own.
DEFAULT_PARTNER_FIELDS = [
    "mobile",
    "auto_birthday",
    "auto_occupation",
    "city",
    "auto_customer_manager_id",
    "auto_preferred_channel",
]
DEFAULT_VEHICLE_FIELDS = ["plate", "model_id", "purchase_date", "engine_number"]
#: Field types a completeness standard can count (a value in the record's own table).
#: The store's amounts (NaN and infinity are refused, and a negative amount).
AMOUNT_RANGES = {
    "complaint_goodwill_limit": (0, None),
    "value_grade_a_spend": (0, None),
    "value_grade_b_spend": (0, None),
}
# ---------------------------------------------------------------- the workshop board (promised time)
#: A visit is "at risk" this many minutes before its promised delivery, unless the store sets its own.
PROMISE_RISK_MINUTES = 60
#: The margin lies from 0 (no warning) to one day.
AMOUNT_RANGES["promise_risk_minutes"] = (0, 24 * 60)
#: The agent's day (issue 12): the plausible range of the retry and contact pressure settings.
CALLBACK_RANGES = {
    "callback_retry_hours": (0, 720),
    "callback_opening_hour": (0, 23.99),
    "callback_pressure_calls": (0, 100),
    "callback_pressure_days": (1, 3650),
}
#: SMS quiet hours of the store (issue 14): times of day.
CALLBACK_RANGES.update(auto_crm_sms_quiet_start=(0, 23.99), auto_crm_sms_quiet_end=(0, 23.99))
COUNTABLE_TTYPES = (
    "char",
    "text",
    "html",
    "date",
    "datetime",
    "integer",
    "float",
    "monetary",
    "selection",
    "many2one",
    "boolean",
)


class ResCompany(models.Model):
    """A store's Dealer CRM settings, edited in Settings → Dealer CRM (``res.config.settings``)."""

    _name = "res.company"
    _inherit = ["res.company", "auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "complaint_goodwill_limit",
        "complaint_callback_score_threshold",
        "value_grade_a_spend",
        "value_grade_a_visits",
        "value_grade_b_spend",
        "value_grade_b_visits",
        "lifecycle_satisfied_visits",
        "lifecycle_retained_visits",
        "lifecycle_loyal_visits",
        "lifecycle_at_risk_days",
        "lifecycle_lost_days",
        "retention_service_interval_months",
        "retention_return_grace_months",
        "completeness_partner_field_ids",
        "completeness_vehicle_field_ids",
        "completeness_profile",
        # the agent's day (issue 12): retries after no answer, contact pressure
        "callback_retry_mode",
        "callback_retry_hours",
        "callback_opening_hour",
        "callback_pressure_calls",
        "callback_pressure_days",
    }

    # The workshop board's margin before a promise is the store's setting (a person's field).
    _user_fields = {*_user_fields, "promise_risk_minutes"}

    # ---------------------------------------------------------------- the store's day
    auto_crm_tz = fields.Selection(
        related="partner_id.tz",
        string="Store Time Zone",
        readonly=False,
        help="The store's day: callbacks fall due, the agents' board shows \"today\", points expire and "
        "deadlines pass by the calendar of this time zone, for every user and for the nightly jobs. "
        "Without one, the store's day is the UTC day.",
    )

    # ---------------------------------------------------------------- complaints
    complaint_goodwill_limit = fields.Monetary(
        string="Goodwill Authority Limit",
        currency_field="currency_id",
        default=500.0,
        help="Goodwill that customer relations staff may grant on a complaint on their own. Above it "
        "the complaint goes to the service department: an after-sales manager must approve it.",
    )
    complaint_callback_score_threshold = fields.Integer(
        string="Complaint Score Threshold",
        default=2,
        help="A callback answered with a satisfaction score at or below this value (1 to 5) opens a complaint.",
    )

    # ---------------------------------------------------------------- the agent's day: retries and contact pressure
    callback_retry_mode = fields.Selection(
        [("hours", "After some hours"), ("next_day", "The next day at opening")],
        string="Retry After No Answer",
        default="hours",
        required=True,
        help="When a callback that was not answered (no answer, busy) is tried again: some hours "
        "later, or the store's next day at opening time.",
    )
    callback_retry_hours = fields.Integer(
        string="Retry After (hours)", default=2, help="Hours after an unanswered attempt before the next try."
    )
    callback_opening_hour = fields.Float(
        string="Opening Time",
        default=8.5,
        help="The store's opening time (its time zone): the next day's retries are due from then.",
    )
    callback_pressure_calls = fields.Integer(
        string="Maximum Calls per Customer",
        default=2,
        help="Contact pressure: the callback engine plans at most this many callbacks for one customer "
        "within the period below, whatever the rules (0 = no limit). A customer never has two open callbacks.",
    )
    callback_pressure_days = fields.Integer(
        string="Pressure Period (days)", default=30, help="The period of the contact pressure limit, in days."
    )

    # ---------------------------------------------------------------- customer value grade (12 months)
    value_grade_a_spend = fields.Monetary(
        string="Grade A: Spend (12 months)", currency_field="currency_id", default=10000
    )
    value_grade_a_visits = fields.Integer(string="Grade A: Visits (12 months)", default=4)
    value_grade_b_spend = fields.Monetary(
        string="Grade B: Spend (12 months)", currency_field="currency_id", default=3000
    )
    value_grade_b_visits = fields.Integer(string="Grade B: Visits (12 months)", default=2)

    # ---------------------------------------------------------------- lifecycle
    lifecycle_satisfied_visits = fields.Integer(
        string="Satisfied from (visits)",
        default=2,
        help="Delivered visits in total from which a customer who came back counts as satisfied.",
    )
    lifecycle_retained_visits = fields.Integer(string="Retained from (visits)", default=3)
    lifecycle_loyal_visits = fields.Integer(string="Loyal from (visits)", default=6)
    lifecycle_at_risk_days = fields.Integer(
        string="At Risk after (days)",
        default=180,
        help="Days without a delivered visit after which a customer is at risk.",
    )
    lifecycle_lost_days = fields.Integer(
        string="Lost after (days)",
        default=365,
        help="Days without a delivered visit after which a customer is lost.",
    )

    # ---------------------------------------------------------------- service retention
    retention_service_interval_months = fields.Integer(
        string="Service Interval (months)",
        default=6,
        help="Retention: a vehicle is due for service this many months after the month of its last delivered visit.",
    )
    retention_return_grace_months = fields.Integer(
        string="Return Grace (months)",
        default=1,
        help="Retention: a due vehicle counts as returned when it is received in its due month or up "
        "to this many months later.",
    )

    # ---------------------------------------------------------------- data quality
    completeness_partner_field_ids = fields.Many2many(
        "ir.model.fields",
        "res_company_auto_crm_partner_field_rel",
        "company_id",
        "field_id",
        string="Customer Fields",
        domain=[("model", "=", "res.partner"), ("store", "=", True), ("ttype", "in", COUNTABLE_TTYPES)],
        default=lambda self: self._auto_crm_default_fields("res.partner", DEFAULT_PARTNER_FIELDS),
        help="Fields a complete customer profile holds.",
    )
    completeness_vehicle_field_ids = fields.Many2many(
        "ir.model.fields",
        "res_company_auto_crm_vehicle_field_rel",
        "company_id",
        "field_id",
        string="Vehicle Fields",
        domain=[("model", "=", "auto_crm.vehicle"), ("store", "=", True), ("ttype", "in", COUNTABLE_TTYPES)],
        default=lambda self: self._auto_crm_default_fields("auto_crm.vehicle", DEFAULT_VEHICLE_FIELDS),
        help="Fields a complete vehicle record holds.",
    )
    completeness_profile = fields.Boolean(
        string="Count Profile Confirmation",
        default=True,
        help="A filed profile counts as one more complete item, a verified one as half.",
    )

    # ---------------------------------------------------------------- the workshop board
    promise_risk_minutes = fields.Integer(
        string="At Risk before Promise (minutes)",
        default=PROMISE_RISK_MINUTES,
        help='On the workshop board an open visit turns "at risk" this many minutes before its promised '
        'delivery time, and "late" once the promise has passed.',
    )

    _sql_constraints = [
        (
            "auto_crm_complaint_goodwill_limit_positive",
            "CHECK(complaint_goodwill_limit >= 0)",
            "Goodwill Authority Limit cannot be negative.",
        ),
        (
            "auto_crm_complaint_score_threshold_range",
            "CHECK(complaint_callback_score_threshold BETWEEN 0 AND 5)",
            "Complaint Score Threshold must lie between 0 and 5.",
        ),
        (
            "auto_crm_callback_retry_range",
            "CHECK(callback_retry_hours BETWEEN 0 AND 720 "
            "AND callback_opening_hour >= 0 AND callback_opening_hour < 24)",
            "Retry After (hours): from 0 to 720; Opening Time: from 00:00 to 23:59.",
        ),
        (
            "auto_crm_callback_pressure_range",
            "CHECK(callback_pressure_calls BETWEEN 0 AND 100 AND callback_pressure_days BETWEEN 1 AND 3650)",
            "Maximum Calls per Customer: from 0 (no limit) to 100; Pressure Period (days): from 1 to 3650.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, AMOUNT_RANGES, names=AMOUNT_RANGES)
        check_vals(self, vals_list, CALLBACK_RANGES, names=CALLBACK_RANGES)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], AMOUNT_RANGES, names=AMOUNT_RANGES)
        check_vals(self, [vals], CALLBACK_RANGES, names=CALLBACK_RANGES)
        return super().write(vals)

    @api.model
    def _auto_crm_tz_name(self):
        """The store's time zone (its address's), UTC when none is set."""
        self.ensure_one()
        tz = self.sudo().partner_id.tz
        return tz if tz in pytz.all_timezones_set else "UTC"

    def _auto_crm_today(self, now=None):
        """The store's date now: "today" for everyone working in the store and for its nightly jobs."""
        self.ensure_one()
        now = pytz.utc.localize(now or fields.Datetime.now())
        return now.astimezone(pytz.timezone(self._auto_crm_tz_name())).date()

    def _auto_crm_next_try(self, now=None):
        """When a callback of this store that was not answered is tried again (UTC, naive): some
        hours after ``now``, or the store's next day at its opening time."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        if self.callback_retry_mode != "next_day":
            return now + datetime.timedelta(hours=self.callback_retry_hours)
        tz = pytz.timezone(self._auto_crm_tz_name())
        day = self._auto_crm_today(now) + datetime.timedelta(days=1)
        minutes = round((self.callback_opening_hour or 0.0) * 60)
        local = tz.localize(datetime.datetime.combine(day, datetime.time(minutes // 60 % 24, minutes % 60)))
        return local.astimezone(pytz.utc).replace(tzinfo=None)

    def _auto_crm_default_fields(self, model, names):
        return self.env["ir.model.fields"].sudo().search([("model", "=", model), ("name", "in", names)]).ids

    def _auto_crm_set_default_completeness(self):
        """Give the stores the default completeness standard (new stores get it from the field defaults;
        this serves the stores that exist when the module is installed)."""
        self.sudo().write(
            {
                "completeness_partner_field_ids": self._auto_crm_default_fields("res.partner", DEFAULT_PARTNER_FIELDS),
                "completeness_vehicle_field_ids": self._auto_crm_default_fields(
                    "auto_crm.vehicle", DEFAULT_VEHICLE_FIELDS
                ),
            }
        )

    @api.model
    def _auto_crm_init_completeness(self):
        """At install: every existing store gets the default completeness standard."""
        self.with_context(active_test=False).search([])._auto_crm_set_default_completeness()

    @api.constrains("value_grade_a_spend", "value_grade_a_visits", "value_grade_b_spend", "value_grade_b_visits")
    def _check_value_grades(self):
        for company in self:
            if company.value_grade_b_spend < 0:
                raise ValidationError(_("Grade B: Spend (12 months): cannot be negative."))
            if company.value_grade_b_visits < 1:
                raise ValidationError(_("Grade B: Visits (12 months): must be at least one visit."))
            if company.value_grade_a_spend < company.value_grade_b_spend:
                raise ValidationError(_("Grade A: Spend (12 months): cannot be less than the spend of grade B."))
            if company.value_grade_a_visits < company.value_grade_b_visits:
                raise ValidationError(_("Grade A: Visits (12 months): cannot be fewer than the visits of grade B."))

    @api.constrains(
        "lifecycle_satisfied_visits",
        "lifecycle_retained_visits",
        "lifecycle_loyal_visits",
        "lifecycle_at_risk_days",
        "lifecycle_lost_days",
    )
    def _check_lifecycle(self):
        for company in self:
            if not 0 < company.lifecycle_at_risk_days < company.lifecycle_lost_days:
                raise ValidationError(_("At Risk after: must be more than 0 days and fewer than Lost after."))
            if (
                not 1
                < company.lifecycle_satisfied_visits
                <= company.lifecycle_retained_visits
                <= company.lifecycle_loyal_visits
            ):
                raise ValidationError(
                    _("Satisfied from: the visit counts must grow: 2 or more for satisfied, then retained, then loyal.")
                )

    @api.constrains("retention_service_interval_months", "retention_return_grace_months")
    def _check_retention(self):
        for company in self:
            if company.retention_service_interval_months < 1:
                raise ValidationError(_("Service Interval: must be at least one month."))
            if company.retention_return_grace_months < 0:
                raise ValidationError(_("Return Grace: months cannot be negative."))

    @api.constrains("completeness_partner_field_ids", "completeness_vehicle_field_ids")
    def _check_completeness_fields(self):
        for company in self:
            fields_ = company.completeness_partner_field_ids | company.completeness_vehicle_field_ids
            wrong = fields_.filtered(
                lambda f: (
                    f.model not in ("res.partner", "auto_crm.vehicle") or not f.store or f.ttype not in COUNTABLE_TTYPES
                )
            )
            if wrong:
                raise ValidationError(
                    _(
                        "Customer Fields: %s cannot be counted (only stored fields of customers and vehicles "
                        "holding a single value).",
                        ", ".join(wrong.mapped("field_description")),
                    )
                )
            if company.completeness_partner_field_ids.filtered(lambda f: f.model != "res.partner"):
                raise ValidationError(_("Customer Fields: only customer fields belong here."))
            if company.completeness_vehicle_field_ids.filtered(lambda f: f.model != "auto_crm.vehicle"):
                raise ValidationError(_("Vehicle Fields: only vehicle fields belong here."))

    def _auto_crm_segment_rules(self):
        """{store id: the value grade and lifecycle thresholds ``lib/segments.py`` reads}, read once
        for all the given stores."""
        return {
            company.id: SimpleNamespace(
                value_a_spend=company.value_grade_a_spend,
                value_a_visits=company.value_grade_a_visits,
                value_b_spend=company.value_grade_b_spend,
                value_b_visits=company.value_grade_b_visits,
                satisfied_visits=company.lifecycle_satisfied_visits,
                retained_visits=company.lifecycle_retained_visits,
                loyal_visits=company.lifecycle_loyal_visits,
                at_risk_days=company.lifecycle_at_risk_days,
                lost_days=company.lifecycle_lost_days,
            )
            for company in self.sudo()
        }

    # ---------------------------------------------------------------- customers at risk (issue 13)
    _user_fields = {*_user_fields, "auto_crm_risk_threshold"}

    auto_crm_risk_threshold = fields.Integer(
        string="At Risk from (score)",
        default=50,
        help="The risk score (0-100) from which a customer shows in At Risk This Month. The score adds up "
        "named points: days overdue against the customer's own rhythm, complaints, the last satisfaction "
        "index, the value grade, a single visit so far.",
    )

    @api.constrains("auto_crm_risk_threshold")
    def _check_auto_crm_risk_threshold(self):
        for company in self:
            if not 0 <= company.auto_crm_risk_threshold <= 100:
                raise ValidationError(
                    _(
                        "At Risk from (score): the risk score runs from 0 to 100; %s is out of range.",
                        company.auto_crm_risk_threshold,
                    )
                )

    # ---------------------------------------------------------------- the questionnaire link (issue 14)
    _user_fields = {*_user_fields, "callback_link_expiry_days", "callback_link_fallback_days"}

    callback_link_expiry_days = fields.Integer(
        string="Questionnaire Link Valid (days)",
        default=7,
        help="How long a questionnaire link sent to a customer opens the questionnaire.",
    )
    callback_link_fallback_days = fields.Integer(
        string="Back to a Phone Call After (days)",
        default=3,
        help="A callback whose questionnaire link is not answered after this many days goes back to the "
        "phone queue.",
    )

    @api.constrains("callback_link_expiry_days", "callback_link_fallback_days")
    def _check_callback_link_days(self):
        for company in self:
            if not 1 <= company.callback_link_expiry_days <= 90:
                raise ValidationError(
                    _(
                        "Questionnaire Link Valid (days): from 1 to 90 days; %s is out of range.",
                        company.callback_link_expiry_days,
                    )
                )
            if not 1 <= company.callback_link_fallback_days <= 90:
                raise ValidationError(
                    _(
                        "Back to a Phone Call After (days): from 1 to 90 days; %s is out of range.",
                        company.callback_link_fallback_days,
                    )
                )

    # ---------------------------------------------------------------- SMS quiet hours (issue 14)
    _user_fields = {*_user_fields, "auto_crm_sms_quiet_start", "auto_crm_sms_quiet_end"}

    auto_crm_sms_quiet_start = fields.Float(
        string="SMS Quiet Hours From",
        default=21.0,
        help="From this time (the store's time zone) no SMS of the store is sent: they wait in the queue until "
        "the quiet hours end. The same time in both fields: no quiet hours.",
    )
    auto_crm_sms_quiet_end = fields.Float(string="SMS Quiet Hours Until", default=8.0)

    @api.constrains("auto_crm_sms_quiet_start", "auto_crm_sms_quiet_end")
    def _check_auto_crm_sms_quiet_hours(self):
        for company in self:
            for value in (company.auto_crm_sms_quiet_start, company.auto_crm_sms_quiet_end):
                if not 0 <= value < 24:
                    raise ValidationError(
                        _("SMS Quiet Hours: %s is not a time of day; enter a time from 00:00 to 23:59.", value)
                    )

    def _auto_crm_local(self, day, hours):
        """UTC (naive) of the store's local ``day`` at ``hours`` (a float: 8.5 = 08:30)."""
        self.ensure_one()
        minutes = round(hours * 60)
        local = datetime.datetime.combine(day, datetime.time(minutes // 60 % 24, minutes % 60))
        return pytz.timezone(self._auto_crm_tz_name()).localize(local).astimezone(pytz.utc).replace(tzinfo=None)

    def _auto_crm_day_start(self, day):
        """UTC (naive) of the start of the store's ``day``."""
        return self._auto_crm_local(day, 0.0)

    def _auto_crm_sms_quiet_end(self, now=None):
        """When the store's SMS quiet hours end (UTC, naive) if ``now`` lies in them, else None."""
        self.ensure_one()
        start, end = self.auto_crm_sms_quiet_start, self.auto_crm_sms_quiet_end
        if round(start * 60) == round(end * 60):
            return None
        now = now or fields.Datetime.now()
        local = pytz.utc.localize(now).astimezone(pytz.timezone(self._auto_crm_tz_name()))
        hour = local.hour + local.minute / 60 + local.second / 3600
        day = local.date()
        if start < end:  # e.g. 12:00-14:00 the same day
            quiet = start <= hour < end
        else:  # e.g. 21:00-08:00 over midnight
            quiet = hour >= start or hour < end
            if hour >= start:
                day += datetime.timedelta(days=1)
        return self._auto_crm_local(day, end) if quiet else None
