import datetime
import logging
import time

from dateutil.relativedelta import relativedelta
from psycopg2 import errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval
from odoo.tools.safe_eval import time as safe_time
from odoo.tools.sql import create_index

from .auto_crm_callback_rule import REMINDER_TRIGGERS, TRIGGER_SOURCE_MODELS
from .auto_crm_job_run import JobStep

_logger = logging.getLogger(__name__)

#: Key of the transaction-level advisory lock that one engine run holds on each rule it runs.
LOCK_KEY = 8841
#: The tables the triggers read and the engine writes: their planner statistics are refreshed at the
#: start of a run when they changed a lot since their last ANALYZE (a bulk load, a data migration).
SOURCE_TABLES = (
    "auto_crm_service_visit",
    "auto_crm_vehicle",
    "auto_crm_vehicle_odometer",
    "auto_crm_complaint",
    "res_partner",
    "auto_crm_callback",
)
#: A table is analysed when more rows than this plus STALE_FRACTION of its rows changed since its last
#: ANALYZE (committed changes and the run's own transaction's): autovacuum's rule, applied at once.
STALE_ROWS = 1000
STALE_FRACTION = 0.1
#: Extended statistics on the columns the engine filters on together (CREATE STATISTICS, made by init()).
EXTENDED_STATISTICS = {
    "auto_crm_service_visit_engine_stats": (
        "auto_crm_service_visit",
        "dependencies, mcv",
        "state, company_id, date_delivered, date_reception",
    ),
    "auto_crm_callback_source_stats": (
        "auto_crm_callback",
        "ndistinct, dependencies",
        "rule_id, source_model, source_id, source_period",
    ),
}


class AutoCrmCallbackEngine(models.AbstractModel):
    """The callback engine: turns the active callback rules into callbacks, once a day.

    Set-based: each rule is planned once per run (its filter evaluated, its trigger's due set
    composed as SQL) and executed as ONE statement that works out the due set first (a
    materialised CTE), inserts the callbacks ``ON CONFLICT DO NOTHING`` against the unique
    (rule, source model, source id, period) index and returns its counts. The number of queries
    of a run depends on the number of rules, not of records."""

    _name = "auto_crm.callback.engine"
    _description = "Callback Engine"

    def init(self):
        res = super().init()
        # After every table of the module exists (init() runs model by model).
        self.pool.post_init(self._init_planner_support)
        return res

    @api.model
    def _init_planner_support(self):
        """The indexes and extended statistics the engine's plans rely on (install and upgrade).

        The win-back rule reads the visits received in its event window (date_reception), the warranty
        and insurance reminders the cars whose date falls in theirs; the planner learns how the visits'
        state, store and dates and the callbacks' rule, source model, source and period go together
        instead of multiplying their selectivities."""
        cr = self.env.cr
        create_index(
            cr,
            "auto_crm_service_visit_engine_reception_index",
            "auto_crm_service_visit",
            ["date_reception"],
            where="date_reception IS NOT NULL",
        )
        # The warranty and insurance reminders read the cars whose date falls in their event window: a
        # range on an index instead of a scan of every car (the forecast dates have theirs already).
        for column in ("warranty_end_date", "insurance_expiry"):
            create_index(
                cr,
                f"auto_crm_vehicle_engine_{column}_index",
                "auto_crm_vehicle",
                [column],
                where=f"{column} IS NOT NULL",
            )
        for name, (table, kinds, columns) in EXTENDED_STATISTICS.items():
            # the names, kinds and columns are the module's constants (EXTENDED_STATISTICS), not input
            cr.execute(
                SQL(
                    "CREATE STATISTICS IF NOT EXISTS %s (%s) ON %s FROM %s",
                    SQL.identifier(name),
                    SQL(kinds),
                    SQL(columns),
                    SQL.identifier(table),
                )
            )

    @api.model
    def _refresh_statistics(self):
        """ANALYZE the engine's tables that changed a lot since their last ANALYZE: rows bulk-loaded
        (a migration, an import) or inserted by the last run leave the planner believing the old
        figures, and a plan built on them can be thousands of times slower. One statement whatever
        happens; nothing to do (the usual case) costs a read of six tables' counters. Also turns
        just-in-time compilation off for the run's transaction.

        The changes counted are the committed ones (``n_mod_since_analyze``) and, for the sources,
        this transaction's own (which ANALYZE samples too), less those an ANALYZE of this
        transaction already saw (kept in a transaction-local setting per table). The callbacks this
        transaction inserted are left to the next run: the engine only probes them by their unique
        index."""
        tables = ", ".join(f"('{table}'::regclass, {table != 'auto_crm_callback'})" for table in SOURCE_TABLES)
        # A DO block takes no parameters; it names only the module's own tables (SOURCE_TABLES), never input.
        self.env.cr.execute(  # pylint: disable=sql-injection
            f"""DO $engine$
            DECLARE
                stale text;
                tab record;
            BEGIN
                -- The engine's plans are index probes: just-in-time compilation, triggered by
                -- inflated cost estimates, only adds its compile time (this transaction only).
                PERFORM set_config('jit', 'off', TRUE);
                -- The due rows are sorted by customer (one call per customer, issue 12): in memory.
                IF pg_size_bytes(current_setting('work_mem')) < 64 * 1024 * 1024 THEN
                    PERFORM set_config('work_mem', '64MB', TRUE);
                END IF;
                PERFORM pg_stat_clear_snapshot();
                FOR tab IN
                    SELECT relname, xact_mods
                      FROM (SELECT cls.relname, cls.reltuples, pg_stat_get_mod_since_analyze(cls.oid) AS mods,
                                   CASE WHEN own THEN pg_stat_get_xact_tuples_inserted(cls.oid)
                                                      + pg_stat_get_xact_tuples_updated(cls.oid)
                                                      + pg_stat_get_xact_tuples_deleted(cls.oid)
                                        ELSE 0 END AS xact_mods
                              FROM (VALUES {tables}) AS engine_table(oid, own)
                              JOIN pg_class cls ON cls.oid = engine_table.oid) tab
                     WHERE mods + xact_mods
                           - COALESCE(NULLIF(current_setting('auto_crm.analysed_' || relname, TRUE), '')::int8, 0)
                           > {STALE_ROWS} + {STALE_FRACTION} * GREATEST(reltuples, 0)
                LOOP
                    stale := concat_ws(', ', stale, quote_ident(tab.relname));
                    PERFORM set_config('auto_crm.analysed_' || tab.relname, tab.xact_mods::text, TRUE);
                END LOOP;
                IF stale IS NOT NULL THEN
                    RAISE LOG 'auto_crm callback engine: ANALYZE %', stale;
                    EXECUTE 'ANALYZE ' || stale;
                END IF;
            END $engine$"""
        )

    # ------------------------------------------------------------------ entry points
    @api.model
    def action_run_now(self):
        """Run the whole engine now, like the daily job (admins)."""
        self._check_run_rights()
        rules = self.env["auto_crm.callback.rule"].sudo().search([])
        return self._notify_runs(self.sudo()._run(rules, housekeeping=True))

    @api.model
    def _check_run_rights(self):
        if not self.env.user.has_group("auto_crm.group_admin"):
            raise UserError(_("Callback Engine: only dealer administrators can run the callback engine by hand."))

    @api.model
    def _cron_run(self):
        """The daily job: expire overdue callbacks, cancel the open callbacks of customers who asked
        not to be disturbed, then run every active rule. Returns the run's lines."""
        rules = self.env["auto_crm.callback.rule"].sudo().search([])
        return self._run(rules, housekeeping=True).line_ids

    @api.model
    def _run(self, rules, today=None, housekeeping=False):
        """One run of the engine (a job run, see auto_crm.job.run): the housekeeping when asked, then
        each rule planned and executed in its own savepoint, with one run line per rule. A rule that
        fails is rolled back and recorded, the others go on; a second run while one is running is
        skipped."""
        steps = []
        if housekeeping:
            steps.append(JobStep(units=["housekeeping"], process=lambda batch: {batch[0]: self._housekeeping(today)}))
        steps.append(
            JobStep(
                # Once the run holds its lock: fresh planner statistics, then the rules.
                units=lambda: self._refresh_statistics() or rules,
                process=lambda batch: {rule: self._run_rule(rule, today or self._store_today(rule)) for rule in batch},
                batch_size=1,
            )
        )
        return self.env["auto_crm.job.run"]._run_job("callback_engine", steps)

    @api.model
    def _run_rules(self, rules, today=None):
        """Create the callbacks these rules call for; returns the run's lines, one per rule."""
        return self._run(rules, today=today).line_ids

    @api.model
    def _store(self, rule):
        """The store whose day the rule runs by: its own, else (a group-wide rule) the main one."""
        return rule.company_id or self.env.ref("base.main_company", raise_if_not_found=False) or self.env.company

    @api.model
    def _store_today(self, rule):
        return self._store(rule)._auto_crm_today()

    @api.model
    def _housekeeping(self, today=None):
        Callback = self.env["auto_crm.callback"].sudo()
        started = time.monotonic()
        expired = Callback._expire_overdue(today)
        cancelled = Callback._cancel_do_not_disturb()
        return {
            "expired_count": expired,
            "cancelled_count": cancelled,
            "duration": time.monotonic() - started,
            "message": _(
                "%(expired)s callbacks expired, %(cancelled)s cancelled for do-not-disturb customers.",
                expired=expired,
                cancelled=cancelled,
            ),
        }

    @api.model
    def _run_rule(self, rule, today):
        """Run one rule: its run line's values (raises when the rule cannot run)."""
        started = time.monotonic()
        plan = self._plan(rule, today)
        try:
            stats = self._execute(rule, plan)
        except errors.SerializationFailure:
            # Its snapshot older than a callback committed meanwhile for one of its customers (made
            # by hand, one open call per customer): nothing of the rule is created in this run.
            raise UserError(
                _(
                    "Rule %s: a customer it would call was given a callback by someone else during this run (or their "
                    "open call was changed); nothing was created, the next run calls the others.",
                    rule.name,
                )
            ) from None
        if not stats["locked"]:
            _logger.info("Callback rule %s (id %s) skipped: another run holds it", rule.name, rule.id)
        return {
            "state": "done" if stats["locked"] else "skipped",
            "company_id": rule.company_id.id,
            "created_count": stats["created"],
            "skipped_dnd_count": stats["dnd"],
            "skipped_consent_count": stats["no_consent"],
            "already_count": stats["already"],
            "skipped_open_count": stats["open"],
            "skipped_pressure_count": stats["pressure"],
            "merged_count": stats["merged"],
            "message": self._run_message(stats),
            "duration": time.monotonic() - started,
        }

    @api.model
    def _preview(self, rule, today=None):
        """What running the rule now would do, without doing it: the counts ``_execute`` would
        return (created, skipped for do-not-disturb, for no consent, already called, for an open
        callback, for the contact pressure). Works on a rule being edited (not saved yet) too."""
        today = today or self._store_today(rule)
        self.env.flush_all()
        plan = self._plan(rule.sudo(), today)
        self.env.cr.execute(
            SQL(
                """WITH lock AS (SELECT TRUE AS held),
             due AS MATERIALIZED (%(due)s),
             %(checked)s
            SELECT (SELECT count(*) FROM todo), count(*) FILTER (WHERE dnd),
                   count(*) FILTER (WHERE NOT dnd AND NOT consent), count(*) FILTER (WHERE eligible),
                   %(skipped)s
              FROM due""",
                due=plan["due"],
                checked=self._checked_sql(rule),
                skipped=self._skipped_sql(rule),
            )
        )
        created, dnd, no_consent, eligible, fresh, open_call, pressure, merged = self.env.cr.fetchone()
        already = eligible - fresh
        return {
            "created": created,
            "dnd": dnd,
            "no_consent": no_consent,
            "already": already,
            "open": open_call,
            "pressure": pressure,
            "merged": merged,
        }

    # ------------------------------------------------------------------ planning
    @api.model
    def _plan(self, rule, today):
        """Everything the rule's statement needs, worked out once: raises when the rule cannot run
        as configured (told to the admin in the run log)."""
        rule.ensure_one()
        self._check_ready(rule)
        members = rule.team_id.member_ids.filtered("active").sorted("id").ids
        # Independence (issue 15): the advisor of the visit never does its callback. The round-robin
        # passes to the next member; a fixed user or a manager who is the advisor leaves the call to
        # the team's pool.
        if rule.assignment == "user":
            user_sql = SQL("NULLIF(%s::int, advisor_id)", rule.user_id.id)
        elif rule.assignment == "round_robin":
            turn = SQL("(%s::int[])[1 + mod(%s + rn - 1, %s)]", members, rule.rr_position, len(members))
            after = SQL("(%s::int[])[1 + mod(%s + rn, %s)]", members, rule.rr_position, len(members))
            user_sql = SQL("NULLIF(CASE WHEN %s = advisor_id THEN %s ELSE %s END, advisor_id)", turn, after, turn)
        elif rule.assignment == "manager":
            user_sql = SQL("NULLIF(COALESCE(manager_id, %s::int), advisor_id)", rule.user_id.id or None)
        else:
            user_sql = SQL("NULL::int")
        return {
            "due": self._due_sql(rule, today),
            "user": user_sql,
            "members": len(members) if rule.assignment == "round_robin" else 0,
        }

    @api.model
    def _check_ready(self, rule):
        questionnaire = rule.questionnaire_id
        if rule.trigger in ("service_delivered", "vehicle_delivered", "no_visit") and not questionnaire:
            raise UserError(
                _(
                    "Questionnaire: rule %s asks customers about a visit or a delivery and needs a questionnaire "
                    "(it may have been deleted).",
                    rule.name,
                )
            )
        if questionnaire and not questionnaire.active:
            raise UserError(
                _(
                    "Questionnaire: %(questionnaire)s of rule %(rule)s is archived.",
                    questionnaire=questionnaire.name,
                    rule=rule.name,
                )
            )
        if rule.assignment == "round_robin" and not rule.team_id.member_ids.filtered("active"):
            raise UserError(
                _(
                    "Team: team %(team)s of rule %(rule)s has no active agent to deal callbacks to.",
                    team=rule.team_id.name,
                    rule=rule.name,
                )
            )

    @api.model
    def _rule_domain(self, rule, today):
        """The rule's filter, evaluated as the web client does (context_today is the run's day)."""
        context = {
            "datetime": safe_datetime,
            "relativedelta": relativedelta,
            "time": safe_time,
            "context_today": lambda: today,
            "uid": self.env.uid,
            "user": self.env.user,
        }
        domain = safe_eval(rule.domain or "[]", context)
        if not isinstance(domain, list | tuple):
            raise ValidationError(_("Filter: a filter is a list of conditions, not %s.", rule.domain))
        return list(domain)

    @api.model
    def _due_sql(self, rule, today):
        """Every source due a callback of this rule today (due date reached, window not passed),
        with its customer's name, manager, do-not-disturb and consent flags. Sources that already
        have their callback are in it too: the insert skips them on the unique index."""
        low = today - relativedelta(days=rule.window_days)
        if rule.date_start and rule.date_start > low:
            # A new rule starts from its first day instead of back-filling its window (issue 12).
            low = rule.date_start
        return SQL(
            """SELECT reach.*,
                      NOT reach.dnd AND reach.consent AS eligible
                 FROM (SELECT cand.*, partner.name AS partner_name, partner.auto_customer_manager_id AS manager_id,
                              %(channel)s AS channel,
                              COALESCE(partner.auto_do_not_disturb, FALSE) AS dnd,
                              COALESCE(partner.auto_callback_consent, FALSE) AND %(channel)s IS NOT NULL AS consent
                         FROM (%(candidates)s) cand
                         JOIN res_partner partner ON partner.id = cand.partner_id AND partner.active
                        WHERE cand.date_due BETWEEN %(low)s AND %(today)s) reach""",
            candidates=self._trigger_sql(rule, low, today),
            channel=self._channel_sql(rule),
            low=low,
            today=today,
        )

    @staticmethod
    def _reachable_sql(channel):
        """Whether the customer (``partner``) can be contacted on ``channel`` (an SQL expression): they did
        not turn that channel down (issue 14), and have an e-mail address for e-mail, a mobile for SMS."""
        return SQL(
            """CASE %(channel)s
                    WHEN 'phone' THEN NOT COALESCE(partner.auto_no_phone, FALSE)
                    WHEN 'sms' THEN NOT COALESCE(partner.auto_no_sms, FALSE)
                                    AND COALESCE(partner.mobile, partner.phone, '') != ''
                    WHEN 'email' THEN NOT COALESCE(partner.auto_no_email, FALSE) AND COALESCE(partner.email, '') != ''
                    WHEN 'letter' THEN NOT COALESCE(partner.auto_no_letter, FALSE)
                    ELSE %(channel)s IS NOT NULL END""",
            channel=channel,
        )

    @api.model
    def _channel_sql(self, rule):
        """The channel of the rule's callback for the customer (``partner``): the rule's, or the customer's
        preferred one when the rule says so (issue 13), else the rule's fallback channels in their order - the
        first the customer can be reached on; NULL when none (the customer is not called: counted with
        those without consent)."""
        first = SQL("partner.auto_preferred_channel") if rule.channel == "preferred" else SQL("%s", rule.channel)
        choices = [first] + [SQL("%s", code) for code in rule._fallback_channel_list()]
        return SQL(
            "COALESCE(%s)::varchar",
            SQL(", ").join(SQL("CASE WHEN %s THEN %s END", self._reachable_sql(choice), choice) for choice in choices),
        )

    @api.model
    def _called_sql(self, rule):
        """Whether the due row ``due`` already has its callback: one probe of the unique (rule,
        source model, source id, period) index per due row, so that a run costs what is due, not
        what was called before. A reminder rule's row may have been given to another rule's call
        instead: then its reminder line is there (the same probe on the reminders' unique index)."""
        called = SQL(
            """EXISTS (SELECT 1 FROM auto_crm_callback existing
                        WHERE existing.rule_id = %(rule)s AND existing.source_model = due.source_model
                          AND existing.source_id = due.source_id AND existing.source_period = due.source_period)""",
            rule=rule._origin.id or 0,
        )
        if not self._merges(rule):
            return called
        return SQL(
            """(%(called)s
                OR EXISTS (SELECT 1 FROM auto_crm_callback_reminder reminded
                            WHERE reminded.rule_id = %(rule)s AND reminded.source_model = due.source_model
                              AND reminded.source_id = due.source_id
                              AND reminded.source_period = due.source_period))""",
            called=called,
            rule=rule._origin.id or 0,
        )

    @api.model
    def _merges(self, rule):
        """Whether the rule's reminders join the customer's open call of the same week (issue 13)."""
        return rule.trigger in REMINDER_TRIGGERS

    @api.model
    def _checked_sql(self, rule):
        """The CTEs after ``due`` (and ``lock``) that pick the rows to insert, as ``todo``: the
        eligible due rows not yet called (``fresh``) with their store, ranked among their customer's
        due rows of this run (``ranked``, with how many they are: ``dues``); each customer's first
        (``checked``, materialised: one row per customer due, read for the insert and the counts)
        with the customer's open callback in the store, if any, and whether they reached the store's
        contact pressure limit (N calls due within D days). A customer gets at most one open callback
        per store, whatever the rules, and at most N calls in D days (issue 12). A reminder rule's
        rows of a customer whose open callback is due in the same week (Monday to Sunday) join that
        callback instead (``merge_into``, issue 13): a reminder adds no call, so the pressure limit
        does not hold it back. The probes are index look-ups per customer due: the one-open exclusion
        constraint's index and the (customer, store, due date) index of callbacks not cancelled."""
        merge_into = SQL("NULL::int")
        if self._merges(rule):
            # (a call not started yet: once the agent is on the phone, the reminder waits for the next call)
            merge_into = SQL(
                "CASE WHEN open_call.state = 'todo' "
                "AND date_trunc('week', open_call.date_due) = date_trunc('week', ranked.date_due) "
                "THEN open_call.id END"
            )
        return SQL(
            """fresh AS (
                -- (only what the insert needs: the rows are sorted by customer; the source model is the rule's)
                SELECT due.source_id, due.source_period, due.partner_id, due.vehicle_id, due.visit_id, due.date_due,
                       due.partner_name, due.manager_id, due.channel,
                       CASE WHEN due.visit_id IS NOT NULL
                            THEN (SELECT visit.advisor_id FROM auto_crm_service_visit visit
                                   WHERE visit.id = due.visit_id)
                       END AS advisor_id,
                       COALESCE(due.company_id, %(rule_company)s, %(default_company)s) AS store
                  FROM due
                 WHERE eligible AND (SELECT held FROM lock) AND NOT %(called)s),
             ranked AS (
                SELECT fresh.*, row_number() OVER customer AS nth,
                       count(*) OVER (PARTITION BY fresh.partner_id, fresh.store) AS dues
                  FROM fresh
                WINDOW customer AS (PARTITION BY fresh.partner_id, fresh.store
                                    ORDER BY fresh.date_due, fresh.source_id)),
             checked AS MATERIALIZED (
                SELECT ranked.*, open_call.id IS NOT NULL AS has_open, %(merge_into)s AS merge_into,
                       COALESCE(shop.callback_pressure_calls, 0) > 0
                           AND (SELECT count(*) FROM auto_crm_callback recent
                                 WHERE recent.partner_id = ranked.partner_id AND recent.company_id = ranked.store
                                   AND recent.state != 'cancel'
                                   AND recent.date_due > ranked.date_due - COALESCE(shop.callback_pressure_days, 1))
                               >= shop.callback_pressure_calls AS over_pressure
                  FROM ranked
                  JOIN res_company shop ON shop.id = ranked.store
                  LEFT JOIN LATERAL (
                       -- (at most one: the one-open exclusion constraint)
                       SELECT open_call.id, open_call.state, open_call.date_due FROM auto_crm_callback open_call
                        WHERE open_call.partner_id = ranked.partner_id AND open_call.company_id = ranked.store
                          AND open_call.state IN ('todo', 'in_progress')
                        LIMIT 1) open_call ON TRUE
                 WHERE ranked.nth = 1),
             todo AS (
                SELECT checked.*, row_number() OVER (ORDER BY date_due, source_id) AS rn
                  FROM checked
                 WHERE NOT has_open AND NOT over_pressure)""",
            rule_company=rule.company_id.id or None,
            default_company=self.env.company.id,
            called=self._called_sql(rule),
            merge_into=merge_into,
        )

    @api.model
    def _skipped_sql(self, rule):
        """The counts of the rows ``_checked_sql`` left out or merged: (fresh rows, skipped for an
        open callback, skipped for the contact pressure, reminders joining a call of their customer
        rather than making one)."""
        if not self._merges(rule):
            return SQL(
                """(SELECT COALESCE(sum(dues), 0)::int FROM checked),
                   (SELECT COALESCE(sum(dues - 1), 0)::int + count(*) FILTER (WHERE has_open) FROM checked),
                   (SELECT count(*) FILTER (WHERE NOT has_open AND over_pressure) FROM checked),
                   0"""
            )
        return SQL(
            """(SELECT COALESCE(sum(dues), 0)::int FROM checked),
                   (SELECT COALESCE(sum(dues) FILTER (WHERE has_open AND merge_into IS NULL), 0)::int FROM checked),
                   (SELECT count(*) FILTER (WHERE NOT has_open AND over_pressure) FROM checked),
                   (SELECT (COALESCE(sum(dues) FILTER (WHERE merge_into IS NOT NULL), 0)
                            + COALESCE(sum(dues - 1) FILTER (WHERE NOT has_open AND NOT over_pressure), 0))::int
                      FROM checked)"""
        )

    # ------------------------------------------------------------------ execution
    @api.model
    def _reminded_sql(self, rule, now):
        """The CTEs that write a reminder rule's reminders (issue 13): every fresh row of a customer
        whose call this statement created, or whose open call of the week it joins, becomes a line of
        that call; exactly once per rule and source (the lines' unique index). A joined call is
        written too (``touched``): a call closed by its agent since the statement's snapshot makes
        the statement fail with a serialization failure instead of giving a closed call a reminder,
        and an agent closing it meanwhile waits for the statement, then retries."""
        if not self._merges(rule):
            return SQL("reminded AS (SELECT NULL::boolean AS merged WHERE FALSE)")
        return SQL(
            """touched AS (
               UPDATE auto_crm_callback joined
                  SET write_uid = %(uid)s, write_date = %(now)s
                WHERE joined.id IN (SELECT merge_into FROM checked) AND joined.state = 'todo'
            RETURNING joined.id),
             reminded AS (
               INSERT INTO auto_crm_callback_reminder (
                       callback_id, company_id, rule_id, trigger, source_model, source_id, source_period,
                       partner_id, vehicle_id, date_due, merged, create_uid, create_date, write_uid, write_date)
                SELECT target.callback_id, ranked.store, %(rule)s, %(trigger)s, %(source_model)s, ranked.source_id,
                       ranked.source_period, ranked.partner_id, ranked.vehicle_id, ranked.date_due, target.merged,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM ranked
                  JOIN (SELECT inserted.id AS callback_id, inserted.partner_id, inserted.company_id AS store,
                               FALSE AS merged
                          FROM inserted
                        UNION ALL
                        SELECT checked.merge_into, checked.partner_id, checked.store, TRUE
                          FROM checked
                          JOIN touched ON touched.id = checked.merge_into) target
                    ON target.partner_id = ranked.partner_id AND target.store = ranked.store
            ON CONFLICT DO NOTHING
            RETURNING merged)""",
            rule=rule.id,
            trigger=rule.trigger,
            source_model=TRIGGER_SOURCE_MODELS[rule.trigger],
            uid=self.env.uid,
            now=now,
        )

    @api.model
    def _execute(self, rule, plan):
        """Run the planned rule: ONE statement takes the rule's advisory lock (a concurrent run
        skips the rule), inserts the callbacks of the due set (and a reminder rule's reminders), moves
        the round-robin on and returns the counts."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """WITH lock AS (SELECT pg_try_advisory_xact_lock(%(lock_key)s, %(rule)s) AS held),
             due AS MATERIALIZED (%(due)s),
             %(checked)s,
             inserted AS (
               INSERT INTO auto_crm_callback (
                       name, rule_id, questionnaire_id, survey_kind, company_id, partner_id, vehicle_id, visit_id,
                       source_model, source_id, source_period, user_id, team_id, channel, state,
                       date_due, date_expiry, max_attempts, overall_score, customer_complains,
                       create_uid, create_date, write_uid, write_date)
                SELECT %(rule_name)s || ': ' || partner_name, %(rule)s, %(questionnaire)s, %(survey_kind)s,
                       store, partner_id, vehicle_id,
                       visit_id, %(source_model)s, source_id, source_period, %(user)s, %(team)s, channel,
                       'todo', date_due, date_due + %(window)s, %(max_attempts)s, 0, FALSE,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM todo
            ON CONFLICT DO NOTHING
            RETURNING id, partner_id, company_id),
             created AS (SELECT count(*) AS n FROM inserted),
             %(reminded)s,
             rotated AS (
                UPDATE auto_crm_callback_rule
                   SET rr_position = mod(rr_position + (SELECT n FROM created), %(members)s)
                 WHERE id = %(rule)s AND %(members)s > 0 AND (SELECT n FROM created) > 0
             RETURNING 1)
            SELECT (SELECT held FROM lock), (SELECT n FROM created),
                   count(*) FILTER (WHERE dnd), count(*) FILTER (WHERE NOT dnd AND NOT consent),
                   count(*) FILTER (WHERE eligible),
                   (array_agg(partner_name ORDER BY partner_name) FILTER (WHERE NOT eligible))[1:20],
                   (SELECT count(*) FROM rotated), (SELECT count(*) FROM todo), %(skipped)s,
                   (SELECT count(*) FROM reminded)
              FROM due
             WHERE (SELECT held FROM lock)""",
                lock_key=LOCK_KEY,
                due=plan["due"],
                checked=self._checked_sql(rule),
                skipped=self._skipped_sql(rule),
                reminded=self._reminded_sql(rule, now),
                source_model=TRIGGER_SOURCE_MODELS[rule.trigger],
                rule_name=rule.name,
                rule=rule.id,
                questionnaire=rule.questionnaire_id.id or None,
                survey_kind=rule.questionnaire_id.kind or None,  # the stored related field, set here (SQL)
                user=plan["user"],
                team=rule.team_id.id or None,
                window=rule.window_days,
                max_attempts=rule.max_attempts,
                members=plan["members"],
                uid=self.env.uid,
                now=now,
            )
        )
        (
            locked, created, dnd, no_consent, eligible, names, rotated, todo_count, fresh, open_call, pressure,
            _merged_expected, reminded,
        ) = self.env.cr.fetchone()  # fmt: skip
        if not locked:
            return {
                "locked": False, "created": 0, "dnd": 0, "no_consent": 0, "already": 0, "open": 0, "pressure": 0,
                "merged": 0, "skipped_names": [],
            }  # fmt: skip
        if rotated:
            rule.invalidate_recordset(["rr_position"])
        if created or reminded:
            self.env["auto_crm.callback"].invalidate_model()
            self.env["auto_crm.callback.reminder"].invalidate_model()
        return {
            "locked": True,
            "created": created,
            "dnd": dnd,
            "no_consent": no_consent,
            # (a row another transaction inserted meanwhile, skipped by ON CONFLICT, counts as already called)
            "already": eligible - fresh + todo_count - created,
            "open": open_call,
            "pressure": pressure,
            # (the reminders that joined a call rather than making their own)
            "merged": max(reminded - created, 0),
            "skipped_names": names or [],
        }

    # ------------------------------------------------------------------ run log
    @api.model
    def _error_message(self, rule, error):
        text = error.args[0] if isinstance(error, UserError | ValidationError) and error.args else str(error)
        return _("Rule %(rule)s failed: %(error)s", rule=rule.name, error=text)

    @api.model
    def _run_message(self, stats):
        if not stats["locked"]:
            return _("Another engine run is processing this rule right now.")
        lines = []
        if stats["dnd"] or stats["no_consent"]:
            lines.append(
                _(
                    "%(dnd)s customers skipped for do-not-disturb, %(consent)s for no callback consent.",
                    dnd=stats["dnd"],
                    consent=stats["no_consent"],
                )
            )
            if stats["skipped_names"]:
                lines.append(_("Skipped: %s", ", ".join(stats["skipped_names"])))
        if stats.get("open") or stats.get("pressure"):
            lines.append(
                _(
                    "Contact pressure: %(open)s due customers skipped because they already have an open callback, "
                    "%(pressure)s because they had the store's maximum number of calls in its period.",
                    open=stats["open"],
                    pressure=stats["pressure"],
                )
            )
        if stats.get("merged"):
            lines.append(
                _(
                    "Same-week reminders: %s reminders added to a call of their customer due the same week.",
                    stats["merged"],
                )
            )
        return "\n".join(lines) or False

    @api.model
    def _created_message(self, created, rules):
        """ "1 callback created by 1 rule.", in the right number for each count."""
        callbacks = _("1 callback") if created == 1 else _("%s callbacks", created)
        if rules == 1:
            return _("%s created by 1 rule.", callbacks)
        return _("%(callbacks)s created by %(rules)s rules.", callbacks=callbacks, rules=rules)

    @api.model
    def _notify_runs(self, run):
        """The notification of a run started by hand (the run, see auto_crm.job.run)."""
        runs = run.line_ids
        created = sum(runs.mapped("created_count"))
        failed = runs.filtered(lambda r: r.state == "failed")
        message = self._created_message(created, len(runs.filtered("rule_id")))
        if run.state == "skipped":
            message = _("Another run of the callback engine is in progress: nothing was done; try again later.")
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

    # ------------------------------------------------------------------ the triggers' due sets
    @api.model
    def _trigger_sql(self, rule, low, high):
        """The sources of the rule's trigger whose callback falls due between low and high, as
        rows (source_model, source_id, source_period, partner_id, vehicle_id, visit_id,
        company_id, date_due). The rule's filter and store apply."""
        Model = self.env[TRIGGER_SOURCE_MODELS[rule.trigger]].sudo().with_context(active_test=False)
        domain = self._rule_domain(rule, high)
        in_domain = SQL("TRUE")
        if domain:
            in_domain = SQL("src.id IN %s", Model._search(domain).subselect())
        # An event on day D is due on rule._next_due_date(D): the offset is the same for every day.
        offset = (rule._next_due_date(high) - high).days
        # The events whose due date (event + offset) falls between low and high.
        ev_low, ev_high = low - relativedelta(days=offset), high - relativedelta(days=offset)
        # Datetimes: widen by a day each side for the time zone; the exact date is checked later.
        ts_low = datetime.datetime.combine(ev_low - relativedelta(days=1), datetime.time.min)
        ts_high = datetime.datetime.combine(ev_high + relativedelta(days=2), datetime.time.min)
        tz = self._store(rule)._auto_crm_tz_name()
        method = getattr(self, f"_trigger_sql_{rule.trigger}")
        return method(
            rule,
            in_domain=in_domain,
            offset=offset,
            ev_low=ev_low,
            ev_high=ev_high,
            ts_low=ts_low,
            ts_high=ts_high,
            tz=tz,
            company=rule.company_id.id,
        )

    @staticmethod
    def _local_date(column, tz):
        return SQL("(%s AT TIME ZONE 'UTC' AT TIME ZONE %s)::date", column, tz)

    @staticmethod
    def _company_sql(column, company):
        return SQL("%s = %s", column, company) if company else SQL("TRUE")

    @api.model
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

    @api.model
    def _trigger_sql_service_delivered(self, rule, in_domain, offset, ts_low, ts_high, tz, company, **kw):
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
            company=self._company_sql(SQL("src.company_id"), company),
            in_domain=in_domain,
        )

    @api.model
    def _trigger_sql_vehicle_delivered(self, rule, in_domain, offset, ev_low, ev_high, company, **kw):
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

    @api.model
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

    @api.model
    def _trigger_sql_warranty_end(self, rule, in_domain, offset, ev_low, ev_high, company, **kw):
        return self._vehicle_date_sql("warranty_end_date", in_domain, offset, ev_low, ev_high, company)

    @api.model
    def _trigger_sql_insurance_expiry(self, rule, in_domain, offset, ev_low, ev_high, company, **kw):
        return self._vehicle_date_sql("insurance_expiry", in_domain, offset, ev_low, ev_high, company)

    @api.model
    def _trigger_sql_birthday(self, rule, in_domain, offset, ev_low, ev_high, company, **kw):
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
                            (make_date(yr, EXTRACT(MONTH FROM src.auto_birthday)::int, 1)
                             + (LEAST(EXTRACT(DAY FROM src.auto_birthday)::int,
                                      EXTRACT(DAY FROM (make_date(yr, EXTRACT(MONTH FROM src.auto_birthday)::int, 1)
                                                        + interval '1 month - 1 day'))::int) - 1)) AS day
                       FROM unnest(%(years)s::int[]) AS yr) bd
                WHERE src.active AND src.auto_customer AND src.auto_birthday IS NOT NULL
                  AND bd.day BETWEEN %(ev_low)s AND %(ev_high)s
                  AND %(company)s AND %(in_domain)s""",
            offset=offset,
            years=years,
            ev_low=ev_low,
            ev_high=ev_high,
            company=self._shared_source_company(company, "partner_id"),
            in_domain=in_domain,
        )

    @api.model
    def _trigger_sql_no_visit(self, rule, in_domain, offset, ev_low, ev_high, ts_low, ts_high, tz, company, **kw):
        # The source is the customer's last visit: once they come back and lapse again, the new
        # last visit is a new source and they are called again. Read from the visits received in
        # the event window (the date_reception index), each kept when the customer has no later
        # one: the cost follows the window, not the customers' whole history.
        return SQL(
            """SELECT 'auto_crm.service.visit'::varchar AS source_model, src.id AS source_id, 0 AS source_period,
                      src.partner_id, src.vehicle_id, src.id AS visit_id, src.company_id,
                      src.last_day + %(offset)s AS date_due
                 FROM (SELECT visit.id, visit.partner_id, visit.vehicle_id, visit.company_id, %(day)s AS last_day
                         FROM auto_crm_service_visit visit
                        WHERE visit.state != 'cancel' AND visit.date_reception IS NOT NULL
                          AND visit.date_reception >= %(ts_low)s AND visit.date_reception < %(ts_high)s
                          AND %(company)s
                          AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit later
                                           WHERE later.partner_id = visit.partner_id AND later.state != 'cancel'
                                             AND later.date_reception IS NOT NULL AND %(later_company)s
                                             AND (later.date_reception, later.id) > (visit.date_reception, visit.id))
                      ) src
                WHERE src.last_day BETWEEN %(ev_low)s AND %(ev_high)s
                  AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit booked
                                   WHERE booked.partner_id = src.partner_id AND booked.state = 'appointment')
                  AND %(in_domain)s""",
            offset=offset,
            day=self._local_date(SQL("visit.date_reception"), tz),
            ts_low=ts_low,
            ts_high=ts_high,
            company=self._company_sql(SQL("visit.company_id"), company),
            later_company=self._company_sql(SQL("later.company_id"), company),
            ev_low=ev_low,
            ev_high=ev_high,
            in_domain=in_domain,
        )

    @api.model
    def _trigger_sql_maintenance_due(self, rule, in_domain, offset, ev_low, ev_high, tz, company, **kw):
        # The source is the car's last delivered visit; maintenance is due the earlier of N months
        # after it and the day the car's estimated odometer reaches its mileage + N km (the daily
        # distance from the car's own readings since the odometer was last replaced).
        by_months = SQL("NULL::date")
        recent = SQL("TRUE")
        if rule.maintenance_months:
            by_months = SQL("(last.service_day + make_interval(months => %s))::date", rule.maintenance_months)
            # Due at the latest N months after the visit: only cars last serviced since the window's
            # first day less N months can be due (4 days more for month ends and the time zone).
            since = ev_low - relativedelta(months=rule.maintenance_months, days=4)
            recent = SQL("visit.date_delivered >= %s", datetime.datetime.combine(since, datetime.time.min))
        by_km = SQL("NULL::date")
        if rule.maintenance_km:
            by_km = SQL(
                """CASE WHEN odo.last_date > odo.first_date AND odo.last_value > odo.first_value
                        THEN odo.last_date + CEIL((last.mileage_in + %s - odo.last_value)::numeric
                                                  * (odo.last_date - odo.first_date)
                                                  / (odo.last_value - odo.first_value))::int
                   END""",
                rule.maintenance_km,
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
                                  AND %(recent)s
                                ORDER BY visit.vehicle_id, visit.date_delivered DESC, visit.id DESC) last
                         JOIN auto_crm_vehicle vehicle ON vehicle.id = last.vehicle_id
                              AND vehicle.active AND vehicle.partner_id IS NOT NULL
                         LEFT JOIN LATERAL (
                              SELECT min(reading.date) AS first_date, max(reading.date) AS last_date,
                                     (array_agg(reading.value ORDER BY reading.date, reading.id))[1] AS first_value,
                                     (array_agg(reading.value ORDER BY reading.date DESC, reading.id DESC))[1]
                                         AS last_value
                                FROM auto_crm_vehicle_odometer reading
                               WHERE reading.vehicle_id = last.vehicle_id
                                 AND NOT EXISTS (SELECT 1 FROM auto_crm_vehicle_odometer reset
                                                  WHERE reset.vehicle_id = reading.vehicle_id AND reset.is_replacement
                                                    AND reset.date > reading.date)) odo ON TRUE
                        WHERE NOT EXISTS (SELECT 1 FROM auto_crm_service_visit open_visit
                                           WHERE open_visit.vehicle_id = last.vehicle_id
                                             AND open_visit.state NOT IN ('followup', 'cancel'))) src
                WHERE src.due_day BETWEEN %(ev_low)s AND %(ev_high)s AND %(in_domain)s""",
            offset=offset,
            by_months=by_months,
            by_km=by_km,
            day=self._local_date(SQL("visit.date_delivered"), tz),
            company=self._company_sql(SQL("visit.company_id"), company),
            recent=recent,
            ev_low=ev_low,
            ev_high=ev_high,
            in_domain=in_domain,
        )

    @api.model
    def _forecast_date_sql(self, column, period, in_domain, offset, ev_low, ev_high, company):
        """The cars whose forecast ``column`` (a date the service forecast stores on the car) falls in the
        event window; ``period`` tells one occurrence from the next (one call each). A car in the
        workshop now is not called."""
        return SQL(
            """SELECT 'auto_crm.vehicle'::varchar AS source_model, src.id AS source_id, %(period)s AS source_period,
                      src.partner_id, src.id AS vehicle_id, NULL::int AS visit_id, src.company_id,
                      src.%(column)s + %(offset)s AS date_due
                 FROM auto_crm_vehicle src
                WHERE src.active AND src.partner_id IS NOT NULL
                  AND src.%(column)s BETWEEN %(ev_low)s AND %(ev_high)s
                  AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit open_visit
                                   WHERE open_visit.vehicle_id = src.id
                                     AND open_visit.state NOT IN ('appointment', 'followup', 'cancel'))
                  AND %(company)s AND %(in_domain)s""",
            column=SQL.identifier(column),
            period=period,
            offset=offset,
            ev_low=ev_low,
            ev_high=ev_high,
            company=self._shared_source_company(company, "vehicle_id"),
            in_domain=in_domain,
        )

    @api.model
    def _trigger_sql_service_due(self, rule, in_domain, offset, ev_low, ev_high, company, **kw):
        # The car's next service by its plan and its own mileage (the service forecast): a new car
        # without visits is called for its first maintenance. One call per service: the period is the
        # service's mileage.
        return self._forecast_date_sql(
            "next_service_date", SQL("src.next_service_mileage"), in_domain, offset, ev_low, ev_high, company
        )

    @api.model
    def _trigger_sql_annual_inspection(self, rule, in_domain, offset, ev_low, ev_high, company, **kw):
        # The private car's next on-site inspection by its plan (half-yearly for old cars: the period is
        # the inspection's year and month).
        return self._forecast_date_sql(
            "next_inspection_date",
            SQL(
                "(EXTRACT(YEAR FROM src.next_inspection_date) * 100 "
                "+ EXTRACT(MONTH FROM src.next_inspection_date))::int"
            ),
            in_domain,
            offset,
            ev_low,
            ev_high,
            company,
        )

    @api.model
    def _trigger_sql_complaint_closed(self, rule, in_domain, offset, ts_low, ts_high, tz, company, **kw):
        return SQL(
            """SELECT 'auto_crm.complaint'::varchar AS source_model, src.id AS source_id, 0 AS source_period,
                      src.partner_id, src.vehicle_id, src.visit_id, src.company_id,
                      %(day)s + %(offset)s AS date_due
                 FROM auto_crm_complaint src
                WHERE src.state = 'closed' AND src.date_closed >= %(ts_low)s AND src.date_closed < %(ts_high)s
                  AND %(company)s AND %(in_domain)s""",
            day=self._local_date(SQL("src.date_closed"), tz),
            offset=offset,
            ts_low=ts_low,
            ts_high=ts_high,
            company=self._company_sql(SQL("src.company_id"), company),
            in_domain=in_domain,
        )

    @api.model
    def _trigger_sql_at_risk(self, rule, in_domain, offset, ev_high, company, **kw):
        # The customers whose nightly risk score (auto_crm.customer.forecast) reaches the rule's threshold,
        # due on the run's day. The period is the customer's last visit (as YYYYMMDD): one call per
        # customer, store and absence; once they come back and drift away again, a new period.
        return SQL(
            """SELECT 'auto_crm.customer.forecast'::varchar AS source_model, src.id AS source_id,
                      COALESCE(to_char(src.last_visit_date, 'YYYYMMDD')::int, 0) AS source_period,
                      src.partner_id, NULL::int AS vehicle_id, NULL::int AS visit_id, src.company_id,
                      %(ev_high)s::date + %(offset)s AS date_due
                 FROM auto_crm_customer_forecast src
                WHERE src.risk_score >= %(threshold)s AND %(company)s AND %(in_domain)s""",
            ev_high=ev_high,
            offset=offset,
            threshold=rule.risk_threshold,
            company=self._company_sql(SQL("src.company_id"), company),
            in_domain=in_domain,
        )
