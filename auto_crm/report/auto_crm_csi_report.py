from odoo import api, fields, models
from odoo.tools import SQL

from ..models.auto_crm_service_visit import VISIT_TYPES


class AutoCrmCsiReport(models.Model):
    """Satisfaction analysis: one row per done callback, with its satisfaction index (CSI).

    The views group ``date_due`` by month (*Month Due*), the same month the monthly callback report
    uses, so a pivot row of a month shows the report's CSI for that month. The view exposes the raw
    due date, never a computed month: a month filter is then a date range on
    ``auto_crm_callback.date_due``, an index-only scan of the done callbacks' index (a filter on
    ``date_trunc('month', ...)`` would read every done callback). ``csi`` is empty for
    a callback without an index (no active hierarchy, or no scored answer): averages skip those
    rows. ``overall_score`` is empty when the customer gave no overall score.
    """

    _name = "auto_crm.csi.report"
    _description = "Satisfaction Analysis"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _auto = False
    _order = "date_due desc, date_done desc, id desc"

    callback_id = fields.Many2one("auto_crm.callback", string="Callback", readonly=True)
    date_due = fields.Date(string="Due", readonly=True)
    date_done = fields.Datetime(string="Completed On", readonly=True)
    company_id = fields.Many2one("res.company", string="Store", readonly=True)
    user_id = fields.Many2one("res.users", string="Agent", readonly=True)
    team_id = fields.Many2one("auto_crm.callback.team", string="Team", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    vehicle_id = fields.Many2one("auto_crm.vehicle", string="Vehicle", readonly=True)
    visit_id = fields.Many2one("auto_crm.service.visit", string="Service Visit", readonly=True)
    advisor_id = fields.Many2one("res.users", string="Service Advisor", readonly=True)
    technician_id = fields.Many2one("res.users", string="Technician", readonly=True)
    brand_id = fields.Many2one("fleet.vehicle.model.brand", string="Brand", readonly=True)
    visit_type = fields.Selection(VISIT_TYPES, string="Visit Type", readonly=True)
    rule_id = fields.Many2one("auto_crm.callback.rule", string="Rule", readonly=True)
    questionnaire_id = fields.Many2one("auto_crm.questionnaire", string="Questionnaire", readonly=True)
    csi_hierarchy_id = fields.Many2one("auto_crm.csi.hierarchy", string="Index Weights Used", readonly=True)
    csi = fields.Float(string="Satisfaction Index", readonly=True, aggregator="avg", digits=(5, 1))
    overall_score = fields.Float(
        string="Overall Satisfaction", readonly=True, aggregator="avg", digits=(3, 2), help="1 to 5."
    )
    callback_count = fields.Integer(string="Callbacks", readonly=True, aggregator="sum")
    csi_count = fields.Integer(string="Callbacks with an Index", readonly=True, aggregator="sum")

    def _query(self):
        return SQL(
            """
            SELECT c.id AS id,
                   c.id AS callback_id,
                   c.date_due,
                   c.date_done,
                   c.company_id,
                   c.user_id,
                   c.team_id,
                   c.partner_id,
                   c.vehicle_id,
                   c.visit_id,
                   (SELECT v.advisor_id FROM auto_crm_service_visit v WHERE v.id = c.visit_id) AS advisor_id,
                   (SELECT v.technician_id FROM auto_crm_service_visit v WHERE v.id = c.visit_id) AS technician_id,
                   (SELECT COALESCE(veh.brand_id, fm.brand_id)
                      FROM auto_crm_vehicle veh
                      LEFT JOIN fleet_vehicle_model fm ON fm.id = veh.model_id
                     WHERE veh.id = COALESCE(
                           c.vehicle_id,
                           (SELECT v.vehicle_id FROM auto_crm_service_visit v WHERE v.id = c.visit_id)
                           )) AS brand_id,
                   (SELECT v.visit_type FROM auto_crm_service_visit v WHERE v.id = c.visit_id) AS visit_type,
                   c.rule_id,
                   c.questionnaire_id,
                   c.csi_hierarchy_id,
                   CASE WHEN c.csi_hierarchy_id IS NULL THEN NULL ELSE c.csi END AS csi,
                   NULLIF(c.overall_score, 0)::float AS overall_score,
                   1 AS callback_count,
                   CASE WHEN c.csi_hierarchy_id IS NULL THEN 0 ELSE 1 END AS csi_count
              FROM auto_crm_callback c
             WHERE c.state = 'done'
            """
        )

    def init(self):
        # The done callbacks of a period with what the pivot, the graph and the exports aggregate
        # and the keys of the visit and car they look up: a month of the analysis is an index-only
        # scan of it. The visit's fields are scalar sub-queries, not joins, so that a query which
        # does not ask for them reads this index alone (PostgreSQL removes an unused LEFT JOIN but
        # then no longer plans an index-only scan: measured, 29 ms against 9 ms for a month).
        self.env.cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS auto_crm_callback_done_date_due_index
                       ON auto_crm_callback (date_due, company_id)
                  INCLUDE (csi_hierarchy_id, csi, overall_score, user_id, visit_id, vehicle_id)
                    WHERE state = 'done'"""
            )
        )
        self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(self._table)))
        self.env.cr.execute(SQL("CREATE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))

    @api.model
    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        # An analysis query over a month is cheap once narrowed by the index; PostgreSQL's JIT
        # compilation, which its cost estimate over a large table triggers, costs more than the query.
        self.env.cr.execute(SQL("SET LOCAL jit = off"))
        return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)
