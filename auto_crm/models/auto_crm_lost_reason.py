from odoo import fields, models


class AutoCrmLostReason(models.Model):
    _name = "auto_crm.lost.reason"
    _description = "Lost Customer Reason"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "sequence",
        "active",
        "company_id",
    }
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", string="Store", index=True, help="Leave empty to share it.")
