from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    # each feature keeps its own settings beside its code (archive, group figures, scorecards)
    _inherit = "res.config.settings"  # pylint: disable=consider-merging-classes-inherited

    auto_crm_share_archive = fields.Boolean(
        related="company_id.root_id.auto_crm_share_archive",
        readonly=False,
        string="Share Customer Archive Across Stores",
    )
    auto_crm_dealer_group_id = fields.Many2one(related="company_id.root_id", string="Dealer Group")
