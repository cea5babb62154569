from odoo import fields, models
from odoo.tools import SQL

from ..models.auto_crm_service_visit import VISIT_TYPES


class AutoCrmVehicleServiceHistory(models.Model):
    """A car's service history at every store of its dealer group, without prices.

    One row per service visit that received the car (cancelled visits and mere appointments are left
    out): when, at which store, the kind of visit, the mileage, the work done and the descriptions of
    its work and parts lines. No amount, price, payment or internal note is a column of the view, so
    a store of the group reads another store's history of the car without reading its prices; its
    own rule lets the stores of a group that shares its archive read each other's rows."""

    _name = "auto_crm.vehicle.service.history"
    _description = "Vehicle Service History (Dealer Group)"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin): none, a view of the visits.
    _user_fields = ()
    _auto = False
    _order = "date desc, id desc"

    vehicle_id = fields.Many2one("auto_crm.vehicle", readonly=True)
    company_id = fields.Many2one("res.company", string="Store", readonly=True)
    reference = fields.Char(readonly=True)
    date = fields.Datetime(readonly=True)
    visit_type = fields.Selection(VISIT_TYPES, readonly=True)
    mileage = fields.Integer(string="Mileage (km)", readonly=True)
    work_done = fields.Text(readonly=True)
    work_lines = fields.Text(string="Work and Parts", readonly=True)

    def _query(self):
        return SQL(
            """
            SELECT v.id AS id,
                   v.vehicle_id,
                   v.company_id,
                   v.name AS reference,
                   COALESCE(v.date_delivered, v.date_reception, v.date_appointment) AS date,
                   v.visit_type,
                   v.mileage_in AS mileage,
                   v.work_content AS work_done,
                   (SELECT string_agg(l.name, '; ' ORDER BY l.sequence, l.id)
                      FROM auto_crm_service_visit_line l
                     WHERE l.visit_id = v.id) AS work_lines
              FROM auto_crm_service_visit v
             WHERE v.state NOT IN ('appointment', 'cancel')
            """
        )

    def init(self):
        self.env.cr.execute(SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))
