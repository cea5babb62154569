from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..lib import risk as risklib
from .auto_crm_job_run import JobStep

#: Customers scored per batch of the nightly job (one fetch and one upsert each).
RISK_BATCH = 2000
INTERVAL_SOURCES = [("own", "Own rhythm"), ("store", "Store's rhythm")]
#: The figures the nightly job writes (and compares, to write only what changed).
FIGURES = (
    "last_visit_date", "visit_count", "interval_days", "interval_source", "next_service_date",
    "expected_visit_date", "days_overdue", "risk_score", "risk_explanation", "value_at_stake",
)  # fmt: skip


class AutoCrmCustomerForecast(models.Model):
    """The next visit expected of a customer at a store and the risk of not seeing them again.

    One row per customer and store they were served at, written only by the nightly job
    (``_cron_customer_risk``) from ``lib/risk.py``: nobody writes these figures. Kept apart from the
    customer (``res.partner``) because a customer of a dealer group has one rhythm per store, each
    store sees only its own rows (the store's record rule), and the job's writes never touch the
    profile that advisors are editing."""

    _name = "auto_crm.customer.forecast"
    _description = "Customer Next Visit and Risk"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin): none, every figure is the nightly job's.
    _user_fields = ()
    _order = "value_at_stake desc, risk_score desc, id"
    _rec_name = "partner_id"
    _check_company_auto = True

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, readonly=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", string="Store", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    customer_manager_id = fields.Many2one(related="partner_id.auto_customer_manager_id", string="Customer Manager")
    value_grade = fields.Selection(related="partner_id.auto_value_grade", string="Value Grade")
    mobile = fields.Char(related="partner_id.mobile", string="Mobile")
    last_visit_date = fields.Date(string="Last Visit", readonly=True)
    visit_count = fields.Integer(string="Visits", readonly=True)
    interval_days = fields.Integer(
        string="Rhythm (days)",
        readonly=True,
        aggregator="avg",
        help="The median of the days between this customer's visits (at least 30); the store's rhythm when "
        "they came only once.",
    )
    interval_source = fields.Selection(INTERVAL_SOURCES, string="Rhythm From", readonly=True)
    next_service_date = fields.Date(
        string="Next Car Service", readonly=True, help="The earliest next service forecast of the customer's cars."
    )
    expected_visit_date = fields.Date(
        string="Expected Visit",
        readonly=True,
        help="The earlier of the last visit plus the customer's rhythm and the next service of their cars; the "
        "booked visit when there is one.",
    )
    days_overdue = fields.Integer(readonly=True, aggregator="avg")
    risk_score = fields.Integer(
        readonly=True,
        aggregator="avg",
        help="0-100, the sum of the points listed in Why: days overdue against the customer's rhythm (up to 50), "
        "an open complaint (20) or one in the last 90 days (15), the last satisfaction index below 60 (20) or "
        "80 (10), value grade C (10) or B (5), only one visit so far (10).",
    )
    risk_explanation = fields.Text(string="Why", readonly=True)
    value_at_stake = fields.Monetary(
        string="Value at Stake",
        readonly=True,
        help="The customer's average yearly spend at the store: the money paid divided by the years since the "
        "first visit (at least one).",
    )
    date_scored = fields.Date(string="Figures Changed On", readonly=True)
    is_at_risk = fields.Boolean(
        string="At Risk",
        compute="_compute_is_at_risk",
        search="_search_is_at_risk",
        help="The risk score reaches the store's threshold (Settings, Dealer CRM).",
    )

    _sql_constraints = [
        (
            "auto_crm_customer_forecast_partner_company_uniq",
            "UNIQUE(partner_id, company_id)",
            "A customer has one forecast per store.",
        ),
    ]

    def init(self):
        # The default list: a store's customers by value at stake.
        create_index(
            self.env.cr,
            "auto_crm_customer_forecast_list_idx",
            self._table,
            ["company_id", "value_at_stake DESC", "risk_score DESC", "id"],
        )
        create_index(self.env.cr, "auto_crm_customer_forecast_partner_idx", self._table, ["partner_id"])
        # The win-back rule (trigger at_risk): a store's customers from a score up.
        create_index(self.env.cr, "auto_crm_customer_forecast_risk_idx", self._table, ["company_id", "risk_score"])

    @api.depends("risk_score", "company_id.auto_crm_risk_threshold")
    def _compute_is_at_risk(self):
        for forecast in self:
            forecast.is_at_risk = forecast.risk_score >= forecast.company_id.auto_crm_risk_threshold

    def _search_is_at_risk(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(_("At Risk: search it with 'is' or 'is not' (%s is not supported).", operator))
        wanted = bool(value) == (operator == "=")
        self.env["res.company"].flush_model(["auto_crm_risk_threshold"])
        at_risk = SQL(
            """(SELECT forecast.id FROM auto_crm_customer_forecast forecast
                  JOIN res_company shop ON shop.id = forecast.company_id
                 WHERE forecast.risk_score >= COALESCE(shop.auto_crm_risk_threshold, 50))"""
        )
        return [("id", "in" if wanted else "not in", at_risk)]

    def action_open_customer(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------ the nightly job
    @api.model
    def _cron_customer_risk(self, batch_size=RISK_BATCH):
        """Score every customer served at a store, nightly, through the job runner (lock, batches, run
        log): the stores' rhythms once, then per batch of customers one query fetching their features,
        ``lib/risk.py`` in Python and one upsert of the rows that changed. True when nothing failed."""
        state = {}

        def customers():
            state["rhythms"] = self._risk_store_rhythms()
            state["days"] = self._risk_store_days()
            self.env.cr.execute(
                """SELECT DISTINCT visit.partner_id FROM auto_crm_service_visit visit
                     JOIN res_partner partner ON partner.id = visit.partner_id
                    WHERE visit.state = 'followup' AND visit.date_delivered IS NOT NULL
                      AND partner.active AND partner.auto_customer
                    ORDER BY visit.partner_id"""
            )
            return [row[0] for row in self.env.cr.fetchall()]

        run = self.env["auto_crm.job.run"]._run_job(
            "customer_risk",
            JobStep(
                units=customers,
                process=lambda batch: self._risk_batch(batch, state["rhythms"], state["days"]),
                model="res.partner",
                batch_size=batch_size,
            ),
        )
        return run.state == "done"

    @api.model
    def _risk_store_rhythms(self):
        """{store id: rhythm in days}: the median of the days between the successive visit days of
        every customer of the store (one query for every store)."""
        self.env.cr.execute(
            """
            WITH days AS (
                SELECT DISTINCT company_id, partner_id, date_delivered::date AS day
                  FROM auto_crm_service_visit
                 WHERE state = 'followup' AND date_delivered IS NOT NULL
            ), gaps AS (
                SELECT company_id, day - lag(day) OVER (PARTITION BY company_id, partner_id ORDER BY day) AS gap
                  FROM days
            )
            SELECT company_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)
              FROM gaps WHERE gap IS NOT NULL GROUP BY company_id
            """
        )
        return {company_id: risklib.store_interval([value]) for company_id, value in self.env.cr.fetchall()}

    @api.model
    def _risk_fetch_sql(self, partner_ids, today_by_store):
        """One row per (customer, store) of ``partner_ids``: everything ``lib/risk.py`` reads, and the
        figures stored now (to write only what changed)."""
        stores = list(today_by_store)
        return SQL(
            """
            WITH store_day(company_id, today) AS (
                SELECT * FROM unnest(%(stores)s::int[], %(days)s::date[])
            ), served AS (
                SELECT visit.partner_id, visit.company_id,
                       array_agg(DISTINCT (visit.date_delivered AT TIME ZONE 'UTC'
                                           AT TIME ZONE COALESCE(NULLIF(shop_partner.tz, ''), 'UTC'))::date) AS days,
                       COALESCE(SUM(visit.amount_paid), 0)::float8 AS paid
                  FROM auto_crm_service_visit visit
                  JOIN res_company shop ON shop.id = visit.company_id
                  LEFT JOIN res_partner shop_partner ON shop_partner.id = shop.partner_id
                 WHERE visit.partner_id = ANY(%(partners)s) AND visit.state = 'followup'
                   AND visit.date_delivered IS NOT NULL
                 GROUP BY visit.partner_id, visit.company_id
            )
            SELECT served.partner_id, served.company_id, served.days, served.paid, customer.auto_value_grade,
                   (SELECT min(car.next_service_date) FROM auto_crm_vehicle car
                     WHERE car.partner_id = served.partner_id AND car.active) AS next_service,
                   (SELECT count(*) FROM auto_crm_complaint complaint
                     WHERE complaint.partner_id = served.partner_id AND complaint.company_id = served.company_id
                       AND complaint.active AND complaint.state NOT IN ('awaiting_confirmation', 'closed')) AS open,
                   (SELECT count(*) FROM auto_crm_complaint complaint
                     WHERE complaint.partner_id = served.partner_id AND complaint.company_id = served.company_id
                       AND complaint.date_received >= store_day.today - %(complaint_days)s) AS recent,
                   (SELECT callback.csi::float8 FROM auto_crm_callback callback
                     WHERE callback.partner_id = served.partner_id AND callback.company_id = served.company_id
                       AND callback.state = 'done' AND callback.csi IS NOT NULL
                     ORDER BY callback.date_done DESC, callback.id DESC LIMIT 1) AS csi,
                   (SELECT min(booked.date_appointment)::date FROM auto_crm_service_visit booked
                     WHERE booked.partner_id = served.partner_id AND booked.company_id = served.company_id
                       AND booked.state NOT IN ('followup', 'cancel')) AS booked,
                   store_day.today,
                   current.last_visit_date, current.visit_count, current.interval_days, current.interval_source,
                   current.next_service_date, current.expected_visit_date, current.days_overdue,
                   current.risk_score, current.risk_explanation, current.value_at_stake::float8,
                   shop_partner.lang
              FROM served
              JOIN res_partner customer ON customer.id = served.partner_id
              JOIN store_day ON store_day.company_id = served.company_id
              JOIN res_company shop ON shop.id = served.company_id
              LEFT JOIN res_partner shop_partner ON shop_partner.id = shop.partner_id
              LEFT JOIN auto_crm_customer_forecast current
                     ON current.partner_id = served.partner_id AND current.company_id = served.company_id
            """,
            stores=stores,
            days=[today_by_store[store] for store in stores],
            partners=list(partner_ids),
            complaint_days=risklib.COMPLAINT_DAYS,
        )

    @api.model
    def _risk_batch(self, partner_ids, rhythms=None, today_by_store=None):
        """Score the customers ``partner_ids`` at every store that served them and store the figures:
        one fetch, one upsert of the rows that changed (two queries more when the stores' days and
        rhythms are not given). Returns the number of rows written."""
        if not partner_ids:
            return 0
        cr = self.env.cr
        if rhythms is None:
            rhythms = self._risk_store_rhythms()
        if today_by_store is None:
            today_by_store = self._risk_store_days()
        cr.execute(self._risk_fetch_sql(partner_ids, today_by_store))
        texts, rows = {}, []
        for row in cr.fetchall():
            partner_id, company_id, days, paid, grade, next_service, open_count, recent, csi, booked, today = row[:11]
            lang = row[21] or "en_US"
            if lang not in texts:
                texts[lang] = self.with_context(lang=lang)._risk_texts()
            customer = risklib.Customer(
                visit_dates=tuple(days or ()),
                next_service_date=next_service,
                value_grade=grade or None,
                open_complaints=open_count,
                recent_complaints=recent,
                last_csi=csi,
                total_paid=paid,
                booked_date=booked,
            )
            result = risklib.score(customer, today, rhythms.get(company_id, risklib.DEFAULT_INTERVAL_DAYS))
            figures = (
                result.last_visit,
                len(customer.visit_dates),
                result.interval_days,
                result.interval_source,
                next_service,
                result.expected_date,
                result.days_overdue,
                result.score,
                self._risk_explain(texts[lang], result) or None,
                result.value_at_stake,
            )
            if figures != tuple(row[11:21]):
                rows.append((partner_id, company_id, today, *figures))
        if rows:
            columns = [list(column) for column in zip(*rows, strict=True)]
            cr.execute(
                SQL(
                    """
                    INSERT INTO auto_crm_customer_forecast AS forecast (
                           partner_id, company_id, date_scored, last_visit_date, visit_count, interval_days,
                           interval_source, next_service_date, expected_visit_date, days_overdue, risk_score,
                           risk_explanation, value_at_stake, create_uid, create_date, write_uid, write_date)
                    SELECT u.*, %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
                      FROM unnest(%(partner)s::int[], %(company)s::int[], %(scored)s::date[], %(last)s::date[],
                                  %(count)s::int[], %(interval)s::int[], %(source)s::varchar[], %(service)s::date[],
                                  %(expected)s::date[], %(overdue)s::int[], %(score)s::int[], %(why)s::text[],
                                  %(stake)s::numeric[]) AS u
                    ON CONFLICT (partner_id, company_id) DO UPDATE
                       SET date_scored = EXCLUDED.date_scored, last_visit_date = EXCLUDED.last_visit_date,
                           visit_count = EXCLUDED.visit_count, interval_days = EXCLUDED.interval_days,
                           interval_source = EXCLUDED.interval_source,
                           next_service_date = EXCLUDED.next_service_date,
                           expected_visit_date = EXCLUDED.expected_visit_date,
                           days_overdue = EXCLUDED.days_overdue, risk_score = EXCLUDED.risk_score,
                           risk_explanation = EXCLUDED.risk_explanation, value_at_stake = EXCLUDED.value_at_stake,
                           write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
                    """,
                    uid=self.env.uid,
                    partner=columns[0],
                    company=columns[1],
                    scored=columns[2],
                    last=columns[3],
                    count=columns[4],
                    interval=columns[5],
                    source=columns[6],
                    service=columns[7],
                    expected=columns[8],
                    overdue=columns[9],
                    score=columns[10],
                    why=columns[11],
                    stake=columns[12],
                )
            )
        self.invalidate_model([*FIGURES, "date_scored", "write_uid", "write_date"])
        return len(rows)

    @api.model
    def _risk_store_days(self):
        """{store id: the store's day} for every store (res.company._auto_crm_today)."""
        companies = self.env["res.company"].sudo().with_context(active_test=False).search([])
        return {company.id: company._auto_crm_today() for company in companies}

    @api.model
    def _risk_texts(self):
        """The phrases of the explanation in the environment's language (the store's)."""
        return {
            "overdue_own": self.env._("overdue %(days)s days against a %(interval)s-day rhythm: +%(points)s"),
            "overdue_store": self.env._(
                "overdue %(days)s days against the store's %(interval)s-day rhythm (one visit so far): +%(points)s"
            ),
            "complaint_open": self.env._("open complaint: +%(points)s"),
            "complaint_recent": self.env._("complaint in the last %(days)s days: +%(points)s"),
            "csi_low": self.env._("last CSI %(csi)s: +%(points)s"),
            "csi_fair": self.env._("last CSI %(csi)s: +%(points)s"),
            "grade_b": self.env._("value grade %(grade)s: +%(points)s"),
            "grade_c": self.env._("value grade %(grade)s: +%(points)s"),
            "single": self.env._("only one visit so far: +%(points)s"),
            "booked": self.env._("visit booked for %(date)s: no risk"),
        }

    @api.model
    def _risk_explain(self, texts, result):
        """The components of ``result`` as one line, in the order of the score's table."""
        parts = []
        for component in result.components:
            code = component.code
            if code == "overdue":
                code = "overdue_own" if component.values["source"] == "own" else "overdue_store"
            parts.append(texts[code] % dict(component.values, points=component.points))
        return "; ".join(parts)

    @api.model
    def _risk_refresh(self, partners):
        """Score these customers now (tests, and a manager who wants today's figures)."""
        self.env.flush_all()
        return self._risk_batch(partners.ids)

    def action_refresh(self):
        """Recompute the figures of these customers now (managers)."""
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise AccessError(_("Only After-Sales Managers recompute the customers' risk."))
        self.check_access("read")
        self.sudo()._risk_refresh(self.partner_id)
