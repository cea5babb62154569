from dateutil.relativedelta import relativedelta
from psycopg2 import errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import get_lang

from .auto_crm_owned_mixin import format_period

#: The targets that are percentages (0 to 100), and the one that is an index (0 to 100).
RATE_TARGETS = (
    "target_execution_rate",
    "target_success_rate",
    "target_retention_rate",
    "target_loyalty_rate",
    "target_csi",
)
#: Every target, with its actual and its attainment: (target, actual, attainment).
FIGURES = (
    ("target_execution_rate", "actual_execution_rate", "attainment_execution_rate"),
    ("target_success_rate", "actual_success_rate", "attainment_success_rate"),
    ("target_csi", "actual_csi", "attainment_csi"),
    ("target_retention_rate", "actual_retention_rate", "attainment_retention_rate"),
    ("target_loyalty_rate", "actual_loyalty_rate", "attainment_loyalty_rate"),
    ("target_visits", "actual_visits", "attainment_visits"),
    ("target_revenue", "actual_revenue", "attainment_revenue"),
)
#: How far back a customer's earlier visit makes them a returning (loyal) customer.
LOYALTY_LOOKBACK_MONTHS = 12


ATTAINMENT_HELP = "The actual figure as a percentage of the target (0 when no target is set)."


def attainment(actual, target):
    """Actual as a percentage of the target (0 when there is no target)."""
    return actual / target * 100.0 if target else 0.0


class AutoCrmTarget(models.Model):
    """The month's targets (月度目标) of a store, or of one of its service advisors, and how far they
    are met.

    The actual figures are computed on reading, set-based: one query per figure for all the targets
    read together (whatever their stores and months), with the definitions of the monthly callback
    report, the satisfaction analysis and the service retention analysis. Nobody writes them.
    """

    _name = "auto_crm.target"
    _description = "Monthly Target"
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "company_id", "month", "advisor_id", "note",
        "target_execution_rate", "target_success_rate", "target_csi", "target_retention_rate",
        "target_loyalty_rate", "target_visits", "target_revenue",
    }  # fmt: skip
    _order = "month desc, company_id, advisor_id"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", string="Store", required=True, index=True, tracking=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    month = fields.Date(
        required=True,
        tracking=True,
        default=lambda self: self.env.company._auto_crm_today().replace(day=1),
        help="The first day of the month the targets are for.",
    )
    advisor_id = fields.Many2one(
        "res.users",
        string="Service Advisor",
        tracking=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="Empty: the targets of the whole store. Set: the targets of this service advisor, whose figures "
        "count the callbacks, satisfaction, returns and visits of the visits they handled.",
    )
    note = fields.Text(string="Notes")

    target_execution_rate = fields.Float(
        string="Callback Execution Target (%)", tracking=True, digits=(5, 1), default=95.0
    )
    target_success_rate = fields.Float(string="Callback Success Target (%)", tracking=True, digits=(5, 1), default=80.0)
    target_csi = fields.Float(string="CSI Target", tracking=True, digits=(5, 1), default=85.0, help="0 to 100.")
    target_retention_rate = fields.Float(
        string="Service Retention Target (%)", tracking=True, digits=(5, 1), default=60.0
    )
    target_loyalty_rate = fields.Float(
        string="Loyalty Target (%)",
        tracking=True,
        digits=(5, 1),
        default=75.0,
        help="The manuals set 75%.",
    )
    target_visits = fields.Integer(string="Visits Target", tracking=True, help="Cars received in the month.")
    target_revenue = fields.Monetary(
        string="Revenue Target", tracking=True, help="Total of the visits delivered in the month, store currency."
    )

    actual_execution_rate = fields.Float(
        string="Callback Execution (%)",
        compute="_compute_actuals",
        digits=(5, 1),
        help="As the monthly callback report: of the callbacks due in the month (cancelled ones excepted), the "
        "share worked - at least one attempt logged, or closed as done or failed.",
    )
    actual_success_rate = fields.Float(
        string="Callback Success (%)",
        compute="_compute_actuals",
        digits=(5, 1),
        help="As the monthly callback report: of the callbacks due in the month (cancelled ones excepted), the "
        "share done - the customer was reached and answered.",
    )
    actual_csi = fields.Float(
        string="CSI",
        compute="_compute_actuals",
        digits=(5, 1),
        help="As the monthly callback report and the satisfaction analysis: mean satisfaction index (0 to 100, "
        "AHP weights) of the done callbacks due in the month that have one.",
    )
    actual_retention_rate = fields.Float(
        string="Service Retention (%)",
        compute="_compute_actuals",
        digits=(5, 1),
        help="As the service retention analysis: of the cars due back at the store in the month (their last "
        "delivered visit was the store's service interval ago), the share received again within the grace "
        "months. For an advisor: the cars whose last visit they handled.",
    )
    actual_loyalty_rate = fields.Float(
        string="Loyalty (%)",
        compute="_compute_actuals",
        digits=(5, 1),
        help="Of the customers whose cars were received at the store in the month (store time zone, cancelled "
        "visits excepted), the share who are returning customers: a visit of theirs was delivered at the "
        "store in the 12 months before the month.",
    )
    actual_visits = fields.Integer(
        string="Visits",
        compute="_compute_actuals",
        help="Cars received at the store in the month (store time zone), cancelled visits excepted.",
    )
    actual_revenue = fields.Monetary(
        string="Revenue",
        compute="_compute_actuals",
        help="Total of the visits delivered in the month (store time zone) and not re-opened.",
    )
    attainment_execution_rate = fields.Float(
        string="Execution Attainment (%)", compute="_compute_actuals", digits=(5, 1), help=ATTAINMENT_HELP
    )
    attainment_success_rate = fields.Float(
        string="Success Attainment (%)", compute="_compute_actuals", digits=(5, 1), help=ATTAINMENT_HELP
    )
    attainment_csi = fields.Float(
        string="CSI Attainment (%)", compute="_compute_actuals", digits=(5, 1), help=ATTAINMENT_HELP
    )
    attainment_retention_rate = fields.Float(
        string="Retention Attainment (%)", compute="_compute_actuals", digits=(5, 1), help=ATTAINMENT_HELP
    )
    attainment_loyalty_rate = fields.Float(
        string="Loyalty Attainment (%)", compute="_compute_actuals", digits=(5, 1), help=ATTAINMENT_HELP
    )
    attainment_visits = fields.Float(
        string="Visits Attainment (%)", compute="_compute_actuals", digits=(5, 1), help=ATTAINMENT_HELP
    )
    attainment_revenue = fields.Float(
        string="Revenue Attainment (%)", compute="_compute_actuals", digits=(5, 1), help=ATTAINMENT_HELP
    )

    def init(self):
        # One target per store, month and advisor, the store's own (no advisor) counted as one value:
        # a plain UNIQUE would let two store targets of a month in (NULL is distinct from NULL).
        self.env.cr.execute(
            SQL(
                """CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_target_company_month_advisor_uniq
                       ON auto_crm_target (company_id, month, COALESCE(advisor_id, 0))"""
            )
        )

    # ------------------------------------------------------------------ display and checks
    @api.depends("company_id", "month", "advisor_id")
    def _compute_display_name(self):
        lang = get_lang(self.env).code
        for target in self:
            parts = [target.company_id.name or "", format_period(target.month, lang) if target.month else ""]
            if target.advisor_id:
                parts.append(target.advisor_id.name)
            target.display_name = " · ".join(part for part in parts if part)

    @api.onchange("month")
    def _onchange_month(self):
        # on the form, any day picked means its month; a direct call with another day is refused below
        if self.month and self.month.day != 1:
            self.month = self.month.replace(day=1)

    def _field_label(self, fname):
        return self._fields[fname].get_description(self.env)["string"]

    @api.constrains("month")
    def _check_month(self):
        for target in self:
            if target.month and target.month.day != 1:
                raise ValidationError(
                    _(
                        "%(field)s: %(date)s is not the first day of a month; targets are set per month.",
                        field=self._field_label("month"),
                        date=target.month,
                    )
                )

    @api.constrains(*(target for target, _actual, _attainment in FIGURES))
    def _check_targets(self):
        for target in self:
            for fname, _actual, _attainment in FIGURES:
                value = target[fname]
                if value < 0:
                    raise ValidationError(
                        _(
                            "%(field)s: %(value)s is negative; a target is 0 or more.",
                            field=self._field_label(fname),
                            value=value,
                        )
                    )
                if fname in RATE_TARGETS and value > 100:
                    raise ValidationError(
                        _(
                            "%(field)s: %(value)s is above 100; a rate or an index is 0 to 100.",
                            field=self._field_label(fname),
                            value=value,
                        )
                    )

    @api.constrains("advisor_id", "company_id")
    def _check_advisor(self):
        for target in self:
            if target.advisor_id and target.company_id not in target.advisor_id.company_ids:
                raise ValidationError(
                    _(
                        "%(field)s: %(user)s does not work for %(store)s.",
                        field=self._field_label("advisor_id"),
                        user=target.advisor_id.name,
                        store=target.company_id.name,
                    )
                )

    def _duplicate_message(self, target):
        return _(
            "%(field)s: %(store)s already has targets for %(month)s%(advisor)s.",
            field=self._field_label("month"),
            store=target.company_id.name,
            month=format_period(target.month, get_lang(self.env).code),
            advisor=_(" for %s", target.advisor_id.name) if target.advisor_id else "",
        )

    @api.constrains("company_id", "month", "advisor_id")
    def _check_unique_period(self):
        for target in self:
            if self.sudo().search_count(
                [
                    ("id", "!=", target.id),
                    ("company_id", "=", target.company_id.id),
                    ("month", "=", target.month),
                    ("advisor_id", "=", target.advisor_id.id),
                ],
                limit=1,
            ):
                raise ValidationError(self._duplicate_message(target))

    def _check_computed_values(self, vals):
        """The actuals and attainments are the add-on's figures: a caller that sends one is refused."""
        for fname in vals:
            field = self._fields.get(fname)
            if field is not None and field.compute and not field.store and not field.related:
                raise UserError(self._owned_message(fname))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_computed_values(vals)
            # told before the INSERT (the constraint below runs after it, and the index would refuse first)
            candidate = self.new(vals)
            if (
                candidate.company_id
                and candidate.month
                and self.sudo().search_count(
                    [
                        ("company_id", "=", candidate.company_id.id),
                        ("month", "=", candidate.month),
                        ("advisor_id", "=", candidate.advisor_id.id),
                    ],
                    limit=1,
                )
            ):
                raise ValidationError(self._duplicate_message(candidate))
        try:
            # Two saves of the same store, month and advisor at once both pass the check above; the
            # unique index lets one in and makes the other wait, then fail: told like the check.
            with self.env.cr.savepoint():
                return super().create(vals_list)
        except errors.UniqueViolation as error:
            if error.diag.constraint_name != "auto_crm_target_company_month_advisor_uniq":
                raise
            target = self.new(vals_list[0])
            raise ValidationError(self._duplicate_message(target)) from None

    def write(self, vals):
        self._check_computed_values(vals)
        if {"company_id", "month", "advisor_id"} & set(vals):
            # told before the UPDATE reaches the unique index (the constraint runs after the flush)
            for target in self:
                moved = target.new(
                    {
                        "company_id": vals.get("company_id", target.company_id.id),
                        "month": vals.get("month", target.month),
                        "advisor_id": vals.get("advisor_id", target.advisor_id.id),
                    }
                )
                if self.sudo().search_count(
                    [
                        ("id", "!=", target.id),
                        ("company_id", "=", moved.company_id.id),
                        ("month", "=", moved.month),
                        ("advisor_id", "=", moved.advisor_id.id),
                    ],
                    limit=1,
                ):
                    raise ValidationError(self._duplicate_message(moved))
        return super().write(vals)

    # ------------------------------------------------------------------ actuals
    def _period_bounds(self):
        """{target id: (month start, next month start)} in UTC (naive), by the store's time zone."""
        bounds = {}
        for target in self:
            start = target.month.replace(day=1)
            bounds[target.id] = (
                target.company_id._auto_crm_day_start(start),
                target.company_id._auto_crm_day_start(start + relativedelta(months=1)),
            )
        return bounds

    def _targets_sql(self):
        """The targets as an SQL table ``t(id, company_id, month, next_month, advisor_id, start_at, stop_at)``."""
        bounds = self._period_bounds()
        return SQL(
            """SELECT t.id, t.company_id, t.month, (t.month + INTERVAL '1 month')::date AS next_month,
                      t.advisor_id, t.start_at, t.stop_at
                 FROM unnest(%s::int[], %s::int[], %s::date[], %s::int[], %s::timestamp[], %s::timestamp[])
                      AS t(id, company_id, month, advisor_id, start_at, stop_at)""",
            list(self.ids),
            [target.company_id.id for target in self],
            [target.month.replace(day=1) for target in self],
            [target.advisor_id.id or None for target in self],
            [bounds[target.id][0] for target in self],
            [bounds[target.id][1] for target in self],
        )

    def _query_figures(self, query):
        self.env.cr.execute(query)
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def _actual_callbacks(self, targets):
        """{target id: (due, executed, successful)}: the monthly callback report's counts."""
        # (imported here: the wizards load after the models)
        from ..wizard.auto_crm_callback_report_wizard import callback_executed_sql

        cb = SQL.identifier("cb")
        return self._query_figures(
            SQL(
                """
                WITH t AS MATERIALIZED (%(targets)s)
                SELECT t.id, COUNT(*), COUNT(*) FILTER (WHERE %(executed)s), COUNT(*) FILTER (WHERE cb.state = 'done')
                  FROM t
                  JOIN auto_crm_callback cb
                    ON cb.company_id = t.company_id AND cb.date_due >= t.month AND cb.date_due < t.next_month
                   AND cb.state != 'cancel'
                 WHERE t.advisor_id IS NULL
                    OR t.advisor_id = (SELECT v.advisor_id FROM auto_crm_service_visit v WHERE v.id = cb.visit_id)
                 GROUP BY t.id
                """,
                targets=targets,
                executed=callback_executed_sql(cb),
            )
        )

    def _actual_csi(self, targets):
        """{target id: (sum of the indexes, callbacks with an index)}: the satisfaction analysis'."""
        report = SQL.identifier(self.env["auto_crm.csi.report"]._table)
        return self._query_figures(
            SQL(
                """
                WITH t AS MATERIALIZED (%(targets)s)
                SELECT t.id, SUM(r.csi) FILTER (WHERE r.csi_count = 1), SUM(r.csi_count)
                  FROM t
                  JOIN %(report)s r
                    ON r.company_id = t.company_id AND r.date_due >= t.month AND r.date_due < t.next_month
                 WHERE t.advisor_id IS NULL OR r.advisor_id = t.advisor_id
                 GROUP BY t.id
                """,
                targets=targets,
                report=report,
            )
        )

    def _actual_retention(self, targets):
        """{target id: (cars due, cars returned)}: the service retention analysis'."""
        report = SQL.identifier(self.env["auto_crm.retention.report"]._table)
        return self._query_figures(
            SQL(
                """
                WITH t AS MATERIALIZED (%(targets)s)
                SELECT t.id, SUM(r.due_count), SUM(r.returned_count)
                  FROM t
                  JOIN %(report)s r ON r.company_id = t.company_id AND r.month = t.month
                 WHERE t.advisor_id IS NULL OR r.advisor_id = t.advisor_id
                 GROUP BY t.id
                """,
                targets=targets,
                report=report,
            )
        )

    def _actual_visits(self, targets):
        """{target id: (visits received, customers received, returning customers)}.

        Set-based: the visits of all the targets first, their distinct customers, then the returning
        ones by one hashed semi-join of those customers to the deliveries of the stores in the targets'
        span (a probe per visit or per customer lets the planner walk the stores' delivery-date index for
        each: measured 27 s, then 9 s, for 120 targets over 100,000 visits)."""
        return self._query_figures(
            SQL(
                """
                WITH t AS MATERIALIZED (%(targets)s),
                m AS MATERIALIZED (
                    SELECT t.id AS target_id, t.company_id, t.start_at, v.partner_id
                      FROM t
                      JOIN auto_crm_service_visit v
                        ON v.company_id = t.company_id AND v.date_reception >= t.start_at
                       AND v.date_reception < t.stop_at AND v.state != 'cancel'
                     WHERE t.advisor_id IS NULL OR v.advisor_id = t.advisor_id
                ),
                c AS MATERIALIZED (SELECT DISTINCT target_id, company_id, start_at, partner_id FROM m),
                prior AS MATERIALIZED (
                    SELECT p.company_id, p.partner_id, p.date_delivered
                      FROM auto_crm_service_visit p
                     WHERE p.state = 'followup'
                       AND p.company_id IN (SELECT company_id FROM t)
                       AND p.date_delivered >= (SELECT MIN(start_at) FROM t) - make_interval(months => %(lookback)s)
                       AND p.date_delivered < (SELECT MAX(start_at) FROM t)
                ),
                r AS MATERIALIZED (
                    SELECT c.target_id
                      FROM c
                     WHERE EXISTS (
                           SELECT 1 FROM prior
                            WHERE prior.partner_id = c.partner_id AND prior.company_id = c.company_id
                              AND prior.date_delivered < c.start_at
                              AND prior.date_delivered >= c.start_at - make_interval(months => %(lookback)s))
                )
                SELECT t.id, COALESCE(mc.n, 0), COALESCE(cc.n, 0), COALESCE(rc.n, 0)
                  FROM t
                  LEFT JOIN (SELECT target_id, COUNT(*) AS n FROM m GROUP BY target_id) mc ON mc.target_id = t.id
                  LEFT JOIN (SELECT target_id, COUNT(*) AS n FROM c GROUP BY target_id) cc ON cc.target_id = t.id
                  LEFT JOIN (SELECT target_id, COUNT(*) AS n FROM r GROUP BY target_id) rc ON rc.target_id = t.id
                """,
                targets=targets,
                lookback=LOYALTY_LOOKBACK_MONTHS,
            )
        )

    def _actual_revenue(self, targets):
        """{target id: (revenue,)}: the total of the visits delivered in the month."""
        return self._query_figures(
            SQL(
                """
                WITH t AS MATERIALIZED (%(targets)s)
                SELECT t.id, SUM(v.amount_total)
                  FROM t
                  JOIN auto_crm_service_visit v
                    ON v.company_id = t.company_id AND v.date_delivered >= t.start_at AND v.date_delivered < t.stop_at
                   AND v.state = 'followup'
                 WHERE t.advisor_id IS NULL OR v.advisor_id = t.advisor_id
                 GROUP BY t.id
                """,
                targets=targets,
            )
        )

    @api.depends("company_id", "month", "advisor_id")
    @api.depends_context("uid")
    def _compute_actuals(self):
        saved = self.filtered(lambda t: t.id and isinstance(t.id, int) and t.month and t.company_id)
        figures = {}
        if saved:
            self.env.flush_all()
            targets = saved._targets_sql()
            figures = {
                "callbacks": saved._actual_callbacks(targets),
                "csi": saved._actual_csi(targets),
                "retention": saved._actual_retention(targets),
                "visits": saved._actual_visits(targets),
                "revenue": saved._actual_revenue(targets),
            }
        for target in self:
            key = target.id if target in saved else None
            due, executed, successful = figures.get("callbacks", {}).get(key, (0, 0, 0))
            csi_sum, csi_count = figures.get("csi", {}).get(key, (0.0, 0))
            cars_due, cars_returned = figures.get("retention", {}).get(key, (0, 0))
            visits, customers, returning = figures.get("visits", {}).get(key, (0, 0, 0))
            (revenue,) = figures.get("revenue", {}).get(key, (0.0,))
            target.actual_execution_rate = attainment(executed, due)
            target.actual_success_rate = attainment(successful, due)
            target.actual_csi = (csi_sum or 0.0) / csi_count if csi_count else 0.0
            target.actual_retention_rate = attainment(cars_returned or 0, cars_due or 0)
            target.actual_loyalty_rate = attainment(returning, customers)
            target.actual_visits = visits
            target.actual_revenue = revenue or 0.0
            for fname, actual, attained in FIGURES:
                target[attained] = attainment(target[actual], target[fname])
