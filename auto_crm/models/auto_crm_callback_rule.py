import datetime
import logging
import time
import uuid

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval
from odoo.tools.safe_eval import time as safe_time

from .auto_crm_callback_run import RUN_STATES
from .res_partner import CONTACT_CHANNELS

_logger = logging.getLogger(__name__)

TRIGGERS = [
    ("service_delivered", "Service visit delivered"),
    ("vehicle_delivered", "New vehicle delivered"),
    ("no_visit", "No visit for N days (win-back)"),
    ("maintenance_due", "Maintenance due"),
    ("warranty_end", "Warranty ending"),
    ("insurance_expiry", "Insurance expiring"),
    ("birthday", "Birthday"),
    ("complaint_closed", "Complaint closed"),
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
}
#: Triggers whose callback is due some days BEFORE the event (the others: some days after).
BEFORE_TRIGGERS = ("warranty_end", "insurance_expiry", "birthday")
#: Triggers that recur for the same source (a birthday every year): one callback per source and year.
YEARLY_TRIGGERS = ("warranty_end", "insurance_expiry", "birthday")
ASSIGNMENTS = [
    ("user", "A fixed user"),
    ("round_robin", "Round-robin over a team"),
    ("team", "Team pool (agents take them)"),
    ("manager", "The customer's manager"),
]


class AutoCrmCallbackRule(models.Model):
    _name = "auto_crm.callback.rule"
    _description = "Callback Rule"
    _inherit = ["mail.thread"]
    _order = "sequence, id"
    _check_company_auto = True

    # The engine works set-based: a rule's whole due set is one INSERT ... SELECT computed inside
    # PostgreSQL, so the number of queries of a run depends on the number of rules, not of records.
    #: After inserting this many callbacks, refresh the table's planner statistics.
    _engine_analyze_threshold = 5000

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True, help="Only active rules are run by the engine.")
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
    source_model_installed = fields.Boolean(compute="_compute_source_model")
    delay_days = fields.Integer(
        string="Delay (days)",
        default=3,
        tracking=True,
        help="Days after the event (delivery, closing, the N days without a visit, the maintenance "
        "due date) the callback is due.",
    )
    days_before = fields.Integer(
        string="Days Before",
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
    channel = fields.Selection(CONTACT_CHANNELS, required=True, default="phone", tracking=True)
    questionnaire_id = fields.Many2one(
        "auto_crm.questionnaire",
        string="Questionnaire",
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
    team_id = fields.Many2one("auto_crm.callback.team", string="Team", tracking=True, check_company=True)
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
    preview_count = fields.Integer(
        compute="_compute_preview",
        string="Would Create Today",
        help="Callbacks this rule would create if the engine ran now.",
    )
    preview_skipped = fields.Integer(
        compute="_compute_preview",
        string="Would Skip Today",
        help="Customers due a callback today who are not called: do-not-disturb or no consent.",
    )
    preview_error = fields.Char(compute="_compute_preview")
    callback_ids = fields.One2many("auto_crm.callback", "rule_id", string="Callbacks")
    callback_count = fields.Integer(compute="_compute_callback_count")
    run_ids = fields.One2many("auto_crm.callback.run", "rule_id", string="Runs")
    last_run_id = fields.Many2one("auto_crm.callback.run", compute="_compute_last_run", string="Last Run")
    last_run_state = fields.Selection(RUN_STATES, compute="_compute_last_run", string="Last Run Result")

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
    ]

    # ------------------------------------------------------------------ computes
    @api.depends("trigger")
    def _compute_source_model(self):
        for rule in self:
            rule.source_model = TRIGGER_SOURCE_MODELS.get(rule.trigger)
            rule.source_model_installed = rule.source_model in self.env

    @api.depends_context("uid")
    def _compute_preview(self):
        today = fields.Date.context_today(self)
        for rule in self:
            rule.preview_count = rule.preview_skipped = 0
            rule.preview_error = False
            if not rule.id:
                continue
            try:
                with self.env.cr.savepoint():
                    stats = rule.sudo()._candidate_stats(today)
            except Exception as error:
                rule.preview_error = rule._error_message(error)
                continue
            rule.preview_count = stats["eligible"]
            rule.preview_skipped = stats["dnd"] + stats["no_consent"]
            if stats.get("note"):
                rule.preview_error = stats["note"]

    def _compute_callback_count(self):
        counts = dict(
            self.env["auto_crm.callback"]._read_group([("rule_id", "in", self.ids)], ["rule_id"], ["__count"])
        )
        for rule in self:
            rule.callback_count = counts.get(rule, 0)

    def _compute_last_run(self):
        Run = self.env["auto_crm.callback.run"]
        for rule in self:
            rule.last_run_id = Run.search([("rule_id", "=", rule.id)], limit=1, order="date_start desc, id desc")
            rule.last_run_state = rule.last_run_id.state

    # ------------------------------------------------------------------ constraints
    @api.constrains("domain", "trigger")
    def _check_domain(self):
        for rule in self:
            model = TRIGGER_SOURCE_MODELS[rule.trigger]
            if model not in self.env:
                continue
            try:
                domain = rule._eval_domain(fields.Date.context_today(self))
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
            if rule.assignment in ("round_robin", "team") and not rule.team_id:
                raise ValidationError(_("Team: rule %s assigns within a team; choose the team.", rule.name))

    # ------------------------------------------------------------------ actions
    def action_view_callbacks(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_callback_action")
        action["domain"] = [("rule_id", "=", self.id)]
        action["context"] = {"search_default_group_state": 1}
        return action

    def action_view_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_callback_run_action")
        action["domain"] = [("rule_id", "=", self.id)]
        return action

    def action_run_now(self):
        """Run the engine for these rules only (admins, from the rule form)."""
        self._check_run_rights()
        runs = self.sudo()._run_engine()
        return self._notify_runs(runs)

    @api.model
    def action_run_engine_now(self):
        """Run the whole engine now, like the daily job (admins)."""
        self._check_run_rights()
        runs = self.sudo()._cron_run_engine()
        return self._notify_runs(runs)

    @api.model
    def _check_run_rights(self):
        if not self.env.user.has_group("auto_crm.group_admin"):
            raise UserError(_("Callback Engine: only dealer administrators can run the callback engine by hand."))

    @api.model
    def _notify_runs(self, runs):
        created = sum(runs.mapped("created_count"))
        failed = runs.filtered(lambda r: r.state == "failed")
        message = _(
            "%(created)s callbacks created by %(rules)s rules.", created=created, rules=len(runs.filtered("rule_id"))
        )
        if failed:
            message += " " + _("Failed rules: %s. See the run log.", ", ".join(failed.rule_id.mapped("name")))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Callback engine"),
                "message": message,
                "type": "warning" if failed else "success",
                "sticky": bool(failed),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------ engine
    @api.model
    def _cron_run_engine(self):
        """The daily job: expire overdue callbacks, cancel the open callbacks of customers who asked
        not to be disturbed, then run every active rule. Returns the run log records."""
        Callback = self.env["auto_crm.callback"].sudo()
        today = fields.Date.context_today(self)
        run_key = uuid.uuid4().hex
        started = time.monotonic()
        expired = Callback._expire_overdue(today)
        cancelled = Callback._cancel_do_not_disturb()
        housekeeping = (
            self.env["auto_crm.callback.run"]
            .sudo()
            .create(
                {
                    "run_key": run_key,
                    "state": "done",
                    "expired_count": expired,
                    "cancelled_count": cancelled,
                    "duration": time.monotonic() - started,
                    "message": _(
                        "%(expired)s callbacks expired, %(cancelled)s cancelled for do-not-disturb customers.",
                        expired=expired,
                        cancelled=cancelled,
                    ),
                }
            )
        )
        rules = self.sudo().search([])
        return housekeeping | rules._run_engine(today=today, run_key=run_key)

    def _run_engine(self, today=None, run_key=None):
        """Create the callbacks these rules call for. Each rule runs in its own savepoint: a rule
        that fails is rolled back, logged and recorded, and the others go on."""
        today = today or fields.Date.context_today(self)
        run_key = run_key or uuid.uuid4().hex
        self.env.flush_all()
        Cron = self.env["ir.cron"]
        vals_list = []
        total = len(self)
        for index, rule in enumerate(self):
            started = time.monotonic()
            vals = {"rule_id": rule.id, "run_key": run_key}
            try:
                with self.env.cr.savepoint():
                    stats = rule._generate_callbacks(today)
            except Exception as error:
                _logger.warning("Callback rule %s (id %s) failed: %s", rule.name, rule.id, error)
                vals.update(state="failed", message=rule._error_message(error))
            else:
                vals.update(
                    state="skipped" if stats.get("note") else "done",
                    created_count=stats["created"],
                    skipped_dnd_count=stats["dnd"],
                    skipped_consent_count=stats["no_consent"],
                    message=stats.get("note") or rule._skipped_message(stats),
                )
                if stats.get("note"):
                    _logger.info("Callback rule %s (id %s) skipped: %s", rule.name, rule.id, stats["note"])
            vals["duration"] = time.monotonic() - started
            vals_list.append(vals)
            Cron._notify_progress(done=index + 1, remaining=total - index - 1)
        return self.env["auto_crm.callback.run"].sudo().create(vals_list)

    def _error_message(self, error):
        self.ensure_one()
        text = error.args[0] if isinstance(error, (UserError, ValidationError)) and error.args else str(error)
        return _("Rule %(rule)s failed: %(error)s", rule=self.name, error=text)

    def _skipped_message(self, stats):
        if not (stats["dnd"] or stats["no_consent"]):
            return False
        lines = [
            _(
                "%(dnd)s customers skipped for do-not-disturb, %(consent)s for no callback consent.",
                dnd=stats["dnd"],
                consent=stats["no_consent"],
            )
        ]
        if stats["skipped_names"]:
            lines.append(_("Skipped: %s", ", ".join(stats["skipped_names"])))
        return "\n".join(lines)

    def _check_ready(self):
        """Raise when the rule cannot run as configured (told to the admin in the run log)."""
        self.ensure_one()
        questionnaire = self.questionnaire_id
        if self.trigger in ("service_delivered", "vehicle_delivered", "no_visit") and not questionnaire:
            raise UserError(
                _(
                    "Questionnaire: rule %s asks customers about a visit or a delivery and needs a questionnaire "
                    "(it may have been deleted).",
                    self.name,
                )
            )
        if questionnaire and not questionnaire.active:
            raise UserError(
                _(
                    "Questionnaire: %(questionnaire)s of rule %(rule)s is archived.",
                    questionnaire=questionnaire.name,
                    rule=self.name,
                )
            )
        if self.assignment == "round_robin" and not self.team_id.member_ids.filtered("active"):
            raise UserError(
                _(
                    "Team: team %(team)s of rule %(rule)s has no active agent to deal callbacks to.",
                    team=self.team_id.name,
                    rule=self.name,
                )
            )

    def _eval_domain(self, today):
        self.ensure_one()
        context = {
            "datetime": safe_datetime,
            "relativedelta": relativedelta,
            "time": safe_time,
            "context_today": lambda: today,
            "uid": self.env.uid,
            "user": self.env.user,
        }
        domain = safe_eval(self.domain or "[]", context)
        if not isinstance(domain, (list, tuple)):
            raise ValidationError(_("Filter: a filter is a list of conditions, not %s.", self.domain))
        return list(domain)

    # -- candidates
    def _candidate_stats(self, today):
        """Counts of the sources due a callback today that have none yet (one query)."""
        self.ensure_one()
        base = self._base_sql(today)
        if base is None:
            return self._skip_stats()
        self.env.cr.execute(
            SQL(
                """SELECT count(*) FILTER (WHERE eligible),
                      count(*) FILTER (WHERE dnd),
                      count(*) FILTER (WHERE NOT dnd AND NOT consent),
                      (array_agg(partner_name ORDER BY partner_name) FILTER (WHERE NOT eligible))[1:20]
                 FROM (%s) base""",
                base,
            )
        )
        eligible, dnd, no_consent, names = self.env.cr.fetchone()
        return {"eligible": eligible, "dnd": dnd, "no_consent": no_consent, "skipped_names": names or [], "created": 0}

    def _skip_stats(self):
        model = TRIGGER_SOURCE_MODELS[self.trigger]
        note = _(
            "The trigger %(trigger)s needs the model %(model)s, which is not installed: nothing to do.",
            trigger=dict(TRIGGERS)[self.trigger],
            model=model,
        )
        return {"eligible": 0, "dnd": 0, "no_consent": 0, "skipped_names": [], "created": 0, "note": note}

    def _generate_callbacks(self, today):
        """Insert the due callbacks of this rule, set-based: one INSERT ... SELECT for the rule's
        whole due set, ON CONFLICT DO NOTHING against the unique (rule, source) index, so two
        concurrent runs never create the same callback twice."""
        self.ensure_one()
        self._check_ready()
        if self._base_sql(today) is None:
            return self._skip_stats()
        # One engine run per rule at a time; a concurrent run skips the rule (it is being done).
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", 8841, self.id))
        if not self.env.cr.fetchone()[0]:
            stats = self._skip_stats()
            stats["note"] = _("Another engine run is processing this rule right now.")
            return stats
        stats = self._candidate_stats(today)
        members = self.team_id.member_ids.filtered("active").sorted("id").ids
        position = self.rr_position
        now = fields.Datetime.now()
        created = self._insert_callbacks(today, now, members, position)
        if self.assignment == "round_robin" and members and created:
            self.rr_position = (position + created) % len(members)
        if created:
            self.env["auto_crm.callback"].invalidate_model()
        if created >= self._engine_analyze_threshold:
            # The planner's statistics of the callbacks table are stale after a big insert: the
            # "already has a callback" anti-join of the next rule (or run) would crawl without them.
            self.env.cr.execute("ANALYZE auto_crm_callback")
        stats["created"] = created
        return stats

    def _insert_callbacks(self, today, now, members, position):
        base = self._base_sql(today)
        uid = self.env.uid
        if self.assignment == "user":
            user_sql = SQL("%s::int", self.user_id.id)
        elif self.assignment == "round_robin":
            user_sql = SQL("(%s::int[])[1 + mod(%s + rn - 1, %s)]", members, position, len(members))
        elif self.assignment == "manager":
            user_sql = SQL("COALESCE(manager_id, %s::int)", self.user_id.id or None)
        else:
            user_sql = SQL("NULL::int")
        self.env.cr.execute(
            SQL(
                """WITH inserted AS (
               INSERT INTO auto_crm_callback (
                       name, rule_id, questionnaire_id, company_id, partner_id, vehicle_id, visit_id,
                       source_model, source_id, source_period, user_id, team_id, channel, state,
                       date_due, date_expiry, max_attempts, overall_score, customer_complains,
                       create_uid, create_date, write_uid, write_date)
                SELECT %(rule_name)s || ': ' || partner_name, %(rule)s, %(questionnaire)s,
                       COALESCE(company_id, %(rule_company)s, %(default_company)s), partner_id, vehicle_id,
                       visit_id, source_model, source_id, source_period, %(user)s, %(team)s, %(channel)s,
                       'todo', date_due, date_due + %(window)s, %(max_attempts)s, 0, FALSE,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM (SELECT base.*, row_number() OVER (ORDER BY date_due, source_id) AS rn
                          FROM (%(base)s) base
                         WHERE eligible) todo
            ON CONFLICT DO NOTHING
            RETURNING 1)
            SELECT count(*) FROM inserted""",
                rule_name=self.name,
                rule=self.id,
                questionnaire=self.questionnaire_id.id or None,
                rule_company=self.company_id.id or None,
                default_company=self.env.company.id,
                user=user_sql,
                team=self.team_id.id or None,
                channel=self.channel,
                window=self.window_days,
                max_attempts=self.max_attempts,
                uid=uid,
                now=now,
                base=base,
            )
        )
        return self.env.cr.fetchone()[0]

    def _base_sql(self, today):
        """Every source due a callback of this rule today (due date reached, window not passed)
        that has none yet, with its customer's do-not-disturb and consent flags. None when the
        trigger's model is not installed."""
        self.ensure_one()
        low = today - relativedelta(days=self.window_days)
        candidates = self._trigger_sql(low, today)
        if candidates is None:
            return None
        return SQL(
            """SELECT cand.*, partner.name AS partner_name, partner.customer_manager_id AS manager_id,
                      COALESCE(partner.do_not_disturb, FALSE) AS dnd,
                      COALESCE(partner.callback_consent, FALSE) AS consent,
                      NOT COALESCE(partner.do_not_disturb, FALSE) AND COALESCE(partner.callback_consent, FALSE)
                          AS eligible
                 FROM (%(candidates)s) cand
                 JOIN res_partner partner ON partner.id = cand.partner_id AND partner.active
                WHERE cand.date_due BETWEEN %(low)s AND %(today)s
                  AND NOT EXISTS (
                        SELECT 1 FROM auto_crm_callback existing
                         WHERE existing.rule_id = %(rule)s
                           AND existing.source_model = cand.source_model
                           AND existing.source_id = cand.source_id
                           AND existing.source_period = cand.source_period)""",
            candidates=candidates,
            low=low,
            today=today,
            rule=self.id,
        )

    def _trigger_sql(self, low, high):
        """The sources of the rule's trigger whose callback falls due between low and high, as
        rows (source_model, source_id, source_period, partner_id, vehicle_id, visit_id,
        company_id, date_due). The rule's filter and store apply."""
        model_name = TRIGGER_SOURCE_MODELS[self.trigger]
        if model_name not in self.env:
            return None
        Model = self.env[model_name].sudo().with_context(active_test=False)
        domain = self._eval_domain(high)
        in_domain = SQL("TRUE")
        if domain:
            in_domain = SQL("src.id IN %s", Model._search(domain).subselect())
        offset = -self.days_before if self.trigger in BEFORE_TRIGGERS else self.delay_days
        if self.trigger == "no_visit":
            offset += self.inactivity_days
        # The events whose due date (event + offset) falls between low and high.
        ev_low, ev_high = low - relativedelta(days=offset), high - relativedelta(days=offset)
        # Datetimes: widen by a day each side for the time zone; the exact date is checked later.
        ts_low = datetime.datetime.combine(ev_low - relativedelta(days=1), datetime.time.min)
        ts_high = datetime.datetime.combine(ev_high + relativedelta(days=2), datetime.time.min)
        tz = self.env.context.get("tz") or self.env.user.tz or self.env.company.partner_id.tz or "UTC"
        company = self.company_id.id
        period = SQL("0")
        method = getattr(self, f"_trigger_sql_{self.trigger}")
        return method(
            model=Model,
            in_domain=in_domain,
            offset=offset,
            ev_low=ev_low,
            ev_high=ev_high,
            ts_low=ts_low,
            ts_high=ts_high,
            tz=tz,
            company=company,
            period=period,
        )

    @staticmethod
    def _local_date(column, tz):
        return SQL("(%s AT TIME ZONE 'UTC' AT TIME ZONE %s)::date", column, tz)

    def _trigger_sql_service_delivered(self, in_domain, offset, ts_low, ts_high, tz, company, **kw):
        return SQL(
            """SELECT 'auto_crm.service.visit'::varchar AS source_model, src.id AS source_id, 0 AS source_period,
                      src.partner_id, src.vehicle_id, src.id AS visit_id, src.company_id,
                      %(day)s + %(offset)s AS date_due
                 FROM auto_crm_service_visit src
                WHERE src.state = 'followup' AND src.date_delivered >= %(ts_low)s AND src.date_delivered < %(ts_high)s
                  AND %(company)s AND %(in_domain)s""",
            day=self._local_date(SQL("src.date_delivered"), tz),
            offset=offset,
            ts_low=ts_low,
            ts_high=ts_high,
            company=SQL("src.company_id = %s", company) if company else SQL("TRUE"),
            in_domain=in_domain,
        )

    def _shared_source_company(self, company, link):
        """A source of the rule's store. A shared source (a car or customer with no store, seen by
        every store of the group) belongs to the store of its latest visit, else to the group's main
        company: it gets one call, not one per store."""
        if not company:
            return SQL("TRUE")
        main = self.env.ref("base.main_company", raise_if_not_found=False)
        return SQL(
            """COALESCE(src.company_id,
                        (SELECT visit.company_id FROM auto_crm_service_visit visit
                          WHERE visit.%(link)s = src.id AND visit.state != 'cancel'
                          ORDER BY visit.date_appointment DESC, visit.id DESC LIMIT 1),
                        %(main)s) = %(company)s""",
            link=SQL.identifier(link),
            main=main.id if main else None,
            company=company,
        )

    def _trigger_sql_vehicle_delivered(self, in_domain, offset, ev_low, ev_high, company, **kw):
        return SQL(
            """SELECT 'auto_crm.vehicle'::varchar AS source_model, src.id AS source_id, 0 AS source_period,
                      src.partner_id, src.id AS vehicle_id, NULL::int AS visit_id, src.company_id,
                      src.purchase_date + %(offset)s AS date_due
                 FROM auto_crm_vehicle src
                WHERE src.active AND src.sold_here AND src.partner_id IS NOT NULL
                  AND src.purchase_date BETWEEN %(ev_low)s AND %(ev_high)s
                  AND %(company)s AND %(in_domain)s""",
            offset=offset,
            ev_low=ev_low,
            ev_high=ev_high,
            company=self._shared_source_company(company, "vehicle_id"),
            in_domain=in_domain,
        )

    def _vehicle_date_sql(self, column, in_domain, offset, ev_low, ev_high, company):
        return SQL(
            """SELECT 'auto_crm.vehicle'::varchar AS source_model, src.id AS source_id,
                      EXTRACT(YEAR FROM src.%(column)s)::int AS source_period,
                      src.partner_id, src.id AS vehicle_id, NULL::int AS visit_id, src.company_id,
                      src.%(column)s + %(offset)s AS date_due
                 FROM auto_crm_vehicle src
                WHERE src.active AND src.partner_id IS NOT NULL
                  AND src.%(column)s BETWEEN %(ev_low)s AND %(ev_high)s
                  AND %(company)s AND %(in_domain)s""",
            column=SQL.identifier(column),
            offset=offset,
            ev_low=ev_low,
            ev_high=ev_high,
            company=self._shared_source_company(company, "vehicle_id"),
            in_domain=in_domain,
        )

    def _trigger_sql_warranty_end(self, in_domain, offset, ev_low, ev_high, company, **kw):
        return self._vehicle_date_sql("warranty_end_date", in_domain, offset, ev_low, ev_high, company)

    def _trigger_sql_insurance_expiry(self, in_domain, offset, ev_low, ev_high, company, **kw):
        return self._vehicle_date_sql("insurance_expiry", in_domain, offset, ev_low, ev_high, company)

    def _trigger_sql_birthday(self, in_domain, offset, ev_low, ev_high, company, **kw):
        # This year's birthday (and last and next year's, for windows across New Year); a 29 February
        # birthday falls on the 28th in other years.
        years = sorted({ev_low.year - 1, ev_low.year, ev_high.year, ev_high.year + 1})
        return SQL(
            """SELECT 'res.partner'::varchar AS source_model, src.id AS source_id, bd.year AS source_period,
                      src.id AS partner_id, NULL::int AS vehicle_id, NULL::int AS visit_id, src.company_id,
                      bd.day + %(offset)s AS date_due
                 FROM res_partner src
                 CROSS JOIN LATERAL (
                     SELECT yr AS year,
                            (make_date(yr, EXTRACT(MONTH FROM src.birthday)::int, 1)
                             + (LEAST(EXTRACT(DAY FROM src.birthday)::int,
                                      EXTRACT(DAY FROM (make_date(yr, EXTRACT(MONTH FROM src.birthday)::int, 1)
                                                        + interval '1 month - 1 day'))::int) - 1)) AS day
                       FROM unnest(%(years)s::int[]) AS yr) bd
                WHERE src.active AND src.is_auto_customer AND src.birthday IS NOT NULL
                  AND bd.day BETWEEN %(ev_low)s AND %(ev_high)s
                  AND %(company)s AND %(in_domain)s""",
            offset=offset,
            years=years,
            ev_low=ev_low,
            ev_high=ev_high,
            company=self._shared_source_company(company, "partner_id"),
            in_domain=in_domain,
        )

    def _trigger_sql_no_visit(self, in_domain, offset, ev_low, ev_high, tz, company, **kw):
        # The source is the customer's last visit: once they come back and lapse again, the new
        # last visit is a new source and they are called again.
        return SQL(
            """SELECT 'auto_crm.service.visit'::varchar AS source_model, src.id AS source_id, 0 AS source_period,
                      src.partner_id, src.vehicle_id, src.id AS visit_id, src.company_id,
                      src.last_day + %(offset)s AS date_due
                 FROM (SELECT DISTINCT ON (visit.partner_id) visit.id, visit.partner_id, visit.vehicle_id,
                              visit.company_id, %(day)s AS last_day
                         FROM auto_crm_service_visit visit
                        WHERE visit.state != 'cancel' AND visit.date_reception IS NOT NULL AND %(company)s
                        ORDER BY visit.partner_id, visit.date_reception DESC, visit.id DESC) src
                WHERE src.last_day BETWEEN %(ev_low)s AND %(ev_high)s
                  AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit booked
                                   WHERE booked.partner_id = src.partner_id AND booked.state = 'appointment')
                  AND %(in_domain)s""",
            offset=offset,
            day=self._local_date(SQL("visit.date_reception"), tz),
            company=SQL("visit.company_id = %s", company) if company else SQL("TRUE"),
            ev_low=ev_low,
            ev_high=ev_high,
            in_domain=in_domain,
        )

    def _trigger_sql_maintenance_due(self, in_domain, offset, ev_low, ev_high, tz, company, **kw):
        # The source is the car's last delivered visit; maintenance is due the earlier of N months
        # after it and the day the car's estimated odometer reaches its mileage + N km (the daily
        # distance from the car's own readings since the odometer was last replaced).
        by_months = SQL("NULL::date")
        if self.maintenance_months:
            by_months = SQL("(last.service_day + make_interval(months => %s))::date", self.maintenance_months)
        by_km = SQL("NULL::date")
        if self.maintenance_km:
            by_km = SQL(
                """CASE WHEN odo.last_date > odo.first_date AND odo.last_value > odo.first_value
                        THEN odo.last_date + CEIL((last.mileage_in + %s - odo.last_value)::numeric
                                                  * (odo.last_date - odo.first_date)
                                                  / (odo.last_value - odo.first_value))::int
                   END""",
                self.maintenance_km,
            )
        return SQL(
            """SELECT 'auto_crm.service.visit'::varchar AS source_model, src.id AS source_id, 0 AS source_period,
                      src.partner_id, src.vehicle_id, src.id AS visit_id, src.company_id,
                      src.due_day + %(offset)s AS date_due
                 FROM (SELECT last.id, vehicle.partner_id, last.vehicle_id, last.company_id,
                              LEAST(%(by_months)s, %(by_km)s) AS due_day
                         FROM (SELECT DISTINCT ON (visit.vehicle_id) visit.id, visit.vehicle_id, visit.company_id,
                                      visit.mileage_in, %(day)s AS service_day
                                 FROM auto_crm_service_visit visit
                                WHERE visit.state = 'followup' AND visit.date_delivered IS NOT NULL AND %(company)s
                                ORDER BY visit.vehicle_id, visit.date_delivered DESC, visit.id DESC) last
                         JOIN auto_crm_vehicle vehicle ON vehicle.id = last.vehicle_id
                              AND vehicle.active AND vehicle.partner_id IS NOT NULL
                         LEFT JOIN (
                              SELECT reading.vehicle_id, min(reading.date) AS first_date, max(reading.date) AS last_date,
                                     (array_agg(reading.value ORDER BY reading.date, reading.id))[1] AS first_value,
                                     (array_agg(reading.value ORDER BY reading.date DESC, reading.id DESC))[1] AS last_value
                                FROM auto_crm_vehicle_odometer reading
                               WHERE NOT EXISTS (SELECT 1 FROM auto_crm_vehicle_odometer reset
                                                  WHERE reset.vehicle_id = reading.vehicle_id AND reset.is_replacement
                                                    AND reset.date > reading.date)
                               GROUP BY reading.vehicle_id) odo ON odo.vehicle_id = last.vehicle_id
                        WHERE NOT EXISTS (SELECT 1 FROM auto_crm_service_visit open_visit
                                           WHERE open_visit.vehicle_id = last.vehicle_id
                                             AND open_visit.state NOT IN ('followup', 'cancel'))) src
                WHERE src.due_day BETWEEN %(ev_low)s AND %(ev_high)s AND %(in_domain)s""",
            offset=offset,
            by_months=by_months,
            by_km=by_km,
            day=self._local_date(SQL("visit.date_delivered"), tz),
            company=SQL("visit.company_id = %s", company) if company else SQL("TRUE"),
            ev_low=ev_low,
            ev_high=ev_high,
            in_domain=in_domain,
        )

    def _trigger_sql_complaint_closed(self, model, in_domain, offset, ts_low, ts_high, tz, company, **kw):
        # Generic over the complaints feature: partner_id, vehicle_id, visit_id, company_id, state
        # ('closed') and date_closed.
        return SQL(
            """SELECT 'auto_crm.complaint'::varchar AS source_model, src.id AS source_id, 0 AS source_period,
                      src.partner_id, src.vehicle_id, src.visit_id, src.company_id,
                      %(day)s + %(offset)s AS date_due
                 FROM %(table)s src
                WHERE src.state = 'closed' AND src.date_closed >= %(ts_low)s AND src.date_closed < %(ts_high)s
                  AND %(company)s AND %(in_domain)s""",
            table=SQL.identifier(model._table),
            day=self._local_date(SQL("src.date_closed"), tz),
            offset=offset,
            ts_low=ts_low,
            ts_high=ts_high,
            company=SQL("src.company_id = %s", company) if company else SQL("TRUE"),
            in_domain=in_domain,
        )
