from odoo import api, fields, models


class AutoCrmCustomerTransferWizard(models.TransientModel):
    """Transfer a customer to another store of the dealer group, with a reason. A store's manager does
    not read the other stores' company records: the stores of the group are offered by name."""

    _name = "auto_crm.customer.transfer.wizard"
    _description = "Transfer Customer to Another Store"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin).
    _user_fields = {"partner_id", "target_store", "reason"}

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    from_company_id = fields.Many2one(related="partner_id.company_id", string="From Store")
    target_store = fields.Selection(selection="_target_store_selection", string="To Store")
    reason = fields.Text(required=True)

    @api.model
    def _target_store_selection(self):
        """The stores of the dealer groups of the user's stores (the group companies themselves excluded)."""
        roots = self.env.user.company_ids.sudo().root_id
        stores = self.env["res.company"].sudo().search([("id", "child_of", roots.ids), ("id", "not in", roots.ids)])
        return [(str(store.id), store.name) for store in stores]

    def action_transfer(self):
        self.ensure_one()
        target = self.env["res.company"].browse(int(self.target_store or 0))
        self.env["auto_crm.customer.transfer"]._transfer(self.partner_id, target, self.reason)
        return {"type": "ir.actions.act_window_close"}
