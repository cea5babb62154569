from odoo import api, fields, models
from odoo.tools import SQL

SCORECARD_ROLES = [
    ("advisor", "Service Advisor"),
    ("technician", "Technician"),
    ("agent", "Callback Agent"),
]

#: The ratios of the scorecard and what they are made of: a group of rows (several months, a store, a
#: role...) is given the ratio of its sums, never the average of the rows' ratios.
RATIOS = {
    "csi": (1.0, "csi_sum", "csi_count"),
    "on_time_rate": (100.0, "on_time_count", "promised_count"),
    "first_time_fix_rate": (100.0, "first_time_fix_count", "delivery_count"),
}


class AutoCrmStaffScorecard(models.Model):
    """Staff scorecards: one row per person, role, store and month, with the figures a store uses in
    staff evaluation. An SQL view over the visits, callbacks and complaints; each figure's help says
    how it is computed.

    * The month of a visit's figures is the month of its delivery, of a callback's the month it was due
      (as the monthly callback report), of a complaint's the month it was received; visit and complaint
      months are the store's calendar months (its time zone, *Settings → Dealer CRM*).
    * *Satisfaction index (CSI)*: mean index (0-100) of the done after-service callbacks (the CSI's kind
      of survey) that have one: of the person's visits for an advisor or technician, of the person's
      calls for an agent.
    * *Complaints attributed*: active complaints linked to a visit of the advisor or technician.
    * *On-time delivery*: of the delivered visits with a promised delivery time, the share delivered at
      or before it (as the on-time delivery analysis).
    * *First-time fix*: of the delivered visits, the share whose car did not come back for the same work
      within the store's first-time-fix window (*Settings → Dealer CRM*, 30 days by default). The same
      work is the same visit type (a repair after a repair, a warranty job after a warranty job...): a
      visit of the car of that type received (at any store) after the delivery and within the window
      makes it a return. A visit delivered less than the window ago counts as fixed until a return.
    * *Callbacks executed*: the agent's callbacks closed as done or failed.
    * *Ranks*: among the people of the same store, month and role, 1 the best (ties share a rank): by
      CSI (highest first), on-time delivery, first-time fix (highest first), complaints (fewest first,
      advisors and technicians only) and callbacks executed (most first, agents only).
    """

    _name = "auto_crm.staff.scorecard"
    _description = "Staff Scorecard"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _auto = False
    _order = "month desc, company_id, role, rank_csi, user_id"

    month = fields.Date(readonly=True, help="The first day of the month the figures belong to.")
    company_id = fields.Many2one("res.company", string="Store", readonly=True)
    user_id = fields.Many2one("res.users", string="Employee", readonly=True)
    role = fields.Selection(SCORECARD_ROLES, readonly=True)
    csi = fields.Float(
        string="Satisfaction Index (CSI)",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="Mean satisfaction index (0 to 100) of the done after-service callbacks that have one: the "
        "callbacks of the employee's visits (advisor, technician) or the employee's own calls (agent), by "
        "the month they were due. Over several rows: all their callbacks together.",
    )
    csi_count = fields.Integer(
        string="Callbacks with an Index",
        readonly=True,
        aggregator="sum",
        help="The done after-service callbacks with an index the CSI is the mean of.",
    )
    csi_sum = fields.Float(string="Index Total", readonly=True, aggregator="sum", help="Sum of those indexes.")
    complaint_count = fields.Integer(
        string="Complaints Attributed",
        readonly=True,
        aggregator="sum",
        help="Active complaints linked to a visit of the advisor or technician, by the month they were received.",
    )
    delivery_count = fields.Integer(
        string="Visits Delivered",
        readonly=True,
        aggregator="sum",
        help="Visits of the advisor or technician delivered in the month.",
    )
    promised_count = fields.Integer(
        string="Deliveries with a Promise",
        readonly=True,
        aggregator="sum",
        help="Delivered visits that had a promised delivery time.",
    )
    on_time_count = fields.Integer(
        string="Delivered on Time",
        readonly=True,
        aggregator="sum",
        help="Delivered visits delivered at or before the promised time.",
    )
    on_time_rate = fields.Float(
        string="On-time Delivery (%)",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="Delivered on Time / Deliveries with a Promise, in percent. Over several rows: their sums.",
    )
    first_time_fix_count = fields.Integer(
        string="Fixed First Time",
        readonly=True,
        aggregator="sum",
        help="Delivered visits whose car did not come back for the same work (a visit of the same visit type "
        "received at any store) within the store's first-time-fix window after the delivery.",
    )
    first_time_fix_rate = fields.Float(
        string="First-time Fix (%)",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="Fixed First Time / Visits Delivered, in percent. A visit delivered less than the window ago "
        "counts as fixed until its car comes back. Over several rows: their sums.",
    )
    callback_count = fields.Integer(
        string="Callbacks Executed",
        readonly=True,
        aggregator="sum",
        help="The agent's callbacks closed as done or failed, by the month they were due.",
    )
    rank_csi = fields.Integer(
        string="Rank by CSI",
        readonly=True,
        aggregator="min",
        help="1 for the highest CSI among the employees of the same store, month and role (ties share a rank; "
        "no CSI ranks last).",
    )
    rank_on_time = fields.Integer(
        string="Rank by On-time Delivery",
        readonly=True,
        aggregator="min",
        help="1 for the highest on-time delivery rate among the same store, month and role.",
    )
    rank_first_time_fix = fields.Integer(
        string="Rank by First-time Fix",
        readonly=True,
        aggregator="min",
        help="1 for the highest first-time fix rate among the same store, month and role.",
    )
    rank_complaints = fields.Integer(
        string="Rank by Complaints",
        readonly=True,
        aggregator="min",
        help="1 for the fewest complaints attributed among the advisors (technicians) of the same store and month.",
    )
    rank_callbacks = fields.Integer(
        string="Rank by Callbacks Executed",
        readonly=True,
        aggregator="min",
        help="1 for the most callbacks executed among the agents of the same store and month.",
    )

    def _query(self):
        return SQL(
            """
            WITH sc_store AS (
                SELECT rc.id AS company_id,
                       COALESCE((SELECT tz.name FROM pg_timezone_names tz WHERE tz.name = p.tz LIMIT 1), 'UTC') AS tz,
                       GREATEST(COALESCE(rc.scorecard_first_fix_days, 30), 1) AS fix_days
                  FROM res_company rc
                  LEFT JOIN res_partner p ON p.id = rc.partner_id
            ),
            sc_visit AS (
                SELECT v.company_id, v.advisor_id, v.technician_id,
                       date_trunc('month', v.date_delivered AT TIME ZONE 'UTC' AT TIME ZONE s.tz)::date AS month,
                       CASE WHEN v.date_promised IS NULL THEN NULL
                            WHEN COALESCE(v.delivered_on_time, v.date_delivered <= v.date_promised) THEN 1
                            ELSE 0 END AS on_time,
                       CASE WHEN EXISTS (
                                SELECT 1 FROM auto_crm_service_visit r
                                 WHERE r.vehicle_id = v.vehicle_id AND r.id != v.id
                                   AND r.visit_type = v.visit_type AND r.state != 'cancel'
                                   AND r.date_reception > v.date_delivered
                                   AND r.date_reception <= v.date_delivered + make_interval(days => s.fix_days))
                            THEN 0 ELSE 1 END AS fixed
                  FROM auto_crm_service_visit v
                  JOIN sc_store s ON s.company_id = v.company_id
                 WHERE v.state = 'followup' AND v.date_delivered IS NOT NULL
            ),
            sc_call AS (
                SELECT c.company_id, c.user_id, v.advisor_id, v.technician_id,
                       date_trunc('month', c.date_due)::date AS month,
                       CASE WHEN c.state = 'done' AND c.survey_kind = 'after_service'
                                 AND c.csi_hierarchy_id IS NOT NULL THEN c.csi END AS csi,
                       c.state
                  FROM auto_crm_callback c
                  LEFT JOIN auto_crm_service_visit v ON v.id = c.visit_id
                 WHERE c.state IN ('done', 'failed')
            ),
            sc_complaint AS (
                SELECT v.company_id, v.advisor_id, v.technician_id,
                       date_trunc('month', k.date_received AT TIME ZONE 'UTC' AT TIME ZONE s.tz)::date AS month
                  FROM auto_crm_complaint k
                  JOIN auto_crm_service_visit v ON v.id = k.visit_id
                  JOIN sc_store s ON s.company_id = v.company_id
                 WHERE k.active
            ),
            sc_event (company_id, month, user_id, role, csi, complaint, delivery, on_time, fixed, executed) AS (
                SELECT company_id, month, advisor_id, 'advisor', NULL::float8, 0, 1, on_time, fixed, 0
                  FROM sc_visit WHERE advisor_id IS NOT NULL
                UNION ALL
                SELECT company_id, month, technician_id, 'technician', NULL::float8, 0, 1, on_time, fixed, 0
                  FROM sc_visit WHERE technician_id IS NOT NULL
                UNION ALL
                SELECT company_id, month, advisor_id, 'advisor', csi, 0, 0, NULL, NULL, 0
                  FROM sc_call WHERE advisor_id IS NOT NULL AND csi IS NOT NULL
                UNION ALL
                SELECT company_id, month, technician_id, 'technician', csi, 0, 0, NULL, NULL, 0
                  FROM sc_call WHERE technician_id IS NOT NULL AND csi IS NOT NULL
                UNION ALL
                SELECT company_id, month, user_id, 'agent', csi, 0, 0, NULL, NULL, 1
                  FROM sc_call WHERE user_id IS NOT NULL
                UNION ALL
                SELECT company_id, month, advisor_id, 'advisor', NULL::float8, 1, 0, NULL, NULL, 0
                  FROM sc_complaint WHERE advisor_id IS NOT NULL
                UNION ALL
                SELECT company_id, month, technician_id, 'technician', NULL::float8, 1, 0, NULL, NULL, 0
                  FROM sc_complaint WHERE technician_id IS NOT NULL
            ),
            sc_card AS (
                SELECT company_id, month, user_id, role,
                       SUM(csi) AS csi_sum,
                       COUNT(csi) AS csi_count,
                       SUM(csi) / NULLIF(COUNT(csi), 0) AS csi,
                       SUM(complaint) AS complaint_count,
                       SUM(delivery) AS delivery_count,
                       COUNT(on_time) AS promised_count,
                       COALESCE(SUM(on_time), 0) AS on_time_count,
                       100.0 * SUM(on_time) / NULLIF(COUNT(on_time), 0) AS on_time_rate,
                       COALESCE(SUM(fixed), 0) AS first_time_fix_count,
                       100.0 * SUM(fixed) / NULLIF(SUM(delivery), 0) AS first_time_fix_rate,
                       SUM(executed) AS callback_count
                  FROM sc_event
                 GROUP BY company_id, month, user_id, role
            )
            SELECT row_number() OVER (ORDER BY month, company_id, role, user_id) AS id,
                   sc_card.*,
                   RANK() OVER (PARTITION BY company_id, month, role ORDER BY csi DESC NULLS LAST) AS rank_csi,
                   RANK() OVER (PARTITION BY company_id, month, role
                                ORDER BY on_time_rate DESC NULLS LAST) AS rank_on_time,
                   RANK() OVER (PARTITION BY company_id, month, role
                                ORDER BY first_time_fix_rate DESC NULLS LAST) AS rank_first_time_fix,
                   CASE WHEN role != 'agent' THEN
                        RANK() OVER (PARTITION BY company_id, month, role ORDER BY complaint_count) END
                       AS rank_complaints,
                   CASE WHEN role = 'agent' THEN
                        RANK() OVER (PARTITION BY company_id, month, role ORDER BY callback_count DESC) END
                       AS rank_callbacks
              FROM sc_card
            """
        )

    def init(self):
        self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(self._table)))
        self.env.cr.execute(SQL("CREATE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))

    @api.model
    def _read_group_select(self, aggregate_spec, query):
        # A ratio over several rows is the ratio of their sums (a month of 40 visits weighs more than one of 2).
        fname, __, func = aggregate_spec.partition(":")
        if func == "avg" and fname in RATIOS:
            factor, numerator, denominator = RATIOS[fname]
            return SQL(
                "%s * SUM(%s) / NULLIF(SUM(%s), 0)",
                factor,
                SQL.identifier(self._table, numerator),
                SQL.identifier(self._table, denominator),
            )
        return super()._read_group_select(aggregate_spec, query)
