from odoo import api, models
from odoo.osv import expression


class IrRule(models.Model):
    """The customers of a store are read by the other stores of its dealer group when the group shares
    its archive. Odoo's own rule on contacts (``base.res_partner_rule``) is global, and global rules only
    narrow each other: the shared branch is added to the contacts' read domain here, for Dealer CRM
    users only (the vehicles' rule of the add-on carries the same branch itself)."""

    _inherit = "ir.rule"

    @api.model
    def _compute_domain(self, model_name, mode="read"):
        domain = super()._compute_domain(model_name, mode)
        if (
            model_name == "res.partner"
            and mode == "read"
            and domain
            and self.env.user.has_group("auto_crm.group_agent")
        ):
            domain = expression.OR([domain, self._auto_crm_shared_archive_domain()])
        return domain

    @api.model
    def _auto_crm_shared_archive_domain(self):
        """Records of a store whose dealer group shares its archive with one of the user's stores (the
        group is an ancestor of one of them; ``parent_of`` applied to the group field itself would
        follow that field as if it were the hierarchy)."""
        return [("company_id.auto_crm_share_group_id", "any", [("id", "parent_of", self.env.companies.ids)])]
