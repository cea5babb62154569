from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

#: Who switches the shared archive of a dealer group on or off.
SHARE_GROUPS = ("auto_crm.group_admin", "auto_crm.group_group_manager")


class ResCompany(models.Model):
    """A dealer group is a company whose children are its stores (Odoo's company hierarchy). The group
    decides whether its stores share their customer archive: customers, vehicles and the cars' service
    history (without prices) of one store are then read by the other stores of the group."""

    # each feature keeps its own settings beside its code (archive, group figures, scorecards)
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    auto_crm_share_archive = fields.Boolean(
        string="Share Customer Archive Across Stores",
        help="Set on the dealer group (the parent company of the stores): every store of the group reads "
        "the customers and vehicles of the others and the cars' service history at other stores (dates, "
        "work done, mileage; never prices or internal notes), and receives a car archived at another store.",
    )
    auto_crm_share_group_id = fields.Many2one(
        "res.company",
        string="Sharing Dealer Group",
        compute="_compute_auto_crm_share_group_id",
        store=True,
        recursive=True,
        index=True,
        help="The dealer group whose stores share this store's customer archive; empty when the group does "
        "not share it.",
    )

    @api.depends("auto_crm_share_archive", "parent_id.auto_crm_share_group_id")
    def _compute_auto_crm_share_group_id(self):
        for company in self:
            if company.parent_id:
                company.auto_crm_share_group_id = company.parent_id.auto_crm_share_group_id
            else:
                company.auto_crm_share_group_id = company if company.auto_crm_share_archive else False

    @api.constrains("auto_crm_share_archive", "parent_id")
    def _check_auto_crm_share_archive(self):
        for company in self:
            if company.auto_crm_share_archive and company.parent_id:
                raise ValidationError(
                    _(
                        "Share Customer Archive Across Stores: %(store)s is a store of %(group)s; the dealer "
                        "group decides for all its stores.",
                        store=company.name,
                        group=company.parent_id.name,
                    )
                )

    def _owned_user_fields(self):
        # The switch is the dealer group's: a dealer administrator or a group manager sets it.
        return {**super()._owned_user_fields(), "auto_crm_share_archive": SHARE_GROUPS}

    def _auto_crm_shares_with(self, other):
        """Whether this store and ``other`` belong to one dealer group that shares its archive."""
        self.ensure_one()
        group = self.sudo().auto_crm_share_group_id
        return bool(group) and group == other.sudo().auto_crm_share_group_id
