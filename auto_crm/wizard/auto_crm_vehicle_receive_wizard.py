from odoo import _, fields, models


class AutoCrmVehicleReceiveWizard(models.TransientModel):
    """Receive a car by its VIN: the store's own car, or one archived at another store of the dealer
    group (when the group shares its archive), or a new car."""

    _name = "auto_crm.vehicle.receive.wizard"
    _description = "Receive Vehicle by VIN"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin).
    _user_fields = {"vin", "company_id"}

    vin = fields.Char(string="VIN", required=True, size=32, help="The car's 17-character VIN.")
    company_id = fields.Many2one(
        "res.company", string="Receiving Store", required=True, default=lambda self: self.env.company
    )

    def action_receive(self):
        self.ensure_one()
        car = self.env["auto_crm.vehicle.receipt"]._receive(self.vin, self.company_id)
        if not car:
            return {
                "type": "ir.actions.act_window",
                "name": _("New Vehicle"),
                "res_model": "auto_crm.vehicle",
                "view_mode": "form",
                "target": "current",
                "context": {
                    "default_vin": self.env["auto_crm.vehicle"]._validate_vin(self.vin),
                    "default_company_id": self.company_id.id,
                },
            }
        return {
            "type": "ir.actions.act_window",
            "name": car.display_name,
            "res_model": "auto_crm.vehicle",
            "res_id": car.id,
            "view_mode": "form",
            "target": "current",
        }
