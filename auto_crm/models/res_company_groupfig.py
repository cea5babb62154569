from odoo import fields, models
from odoo.tools import SQL

#: Who sets whether a group's stores may keep their own satisfaction weighting.
ADMIN = "auto_crm.group_admin"


class ResCompany(models.Model):
    """The dealer group's side of the store: a group is the ``parent_id`` of its stores (Odoo's own company
    hierarchy). One satisfaction weighting (``auto_crm.csi.hierarchy``) activated at the group company is
    the weighting of every store, unless the group lets its stores keep their own."""

    # each feature keeps its own settings beside its code (archive, group figures, scorecards)
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    auto_crm_store_weighting = fields.Boolean(
        string="Stores Keep Their Own Weighting",
        help="Set on the dealer group (the parent company of the stores). When set, a store whose own "
        "satisfaction weighting is active computes its index with it; otherwise, and for a store without "
        "one, the group's active weighting is used, and the store's managers cannot create or activate "
        "weightings of their own.",
    )

    def _owned_user_fields(self):
        result = super()._owned_user_fields()
        result["auto_crm_store_weighting"] = (ADMIN,)
        return result

    def _auto_crm_own_weighting_allowed(self):
        """Whether this store may have a satisfaction weighting of its own: a company without a group, a
        group itself, or a store of a group that allows it."""
        self.ensure_one()
        return not self.parent_id or self.parent_id.sudo().auto_crm_store_weighting

    @staticmethod
    def _auto_crm_weighting_sql(company, own, group):
        """SQL of the weighting (hierarchy id) a store's index uses.

        ``company``: SQL of the store's ``res_company`` row; ``own`` / ``group``: SQL of the active hierarchy
        of the store and of its group (LEFT JOINed, so possibly NULL). The store's own weighting only when the
        store has no group or its group allows it, else the group's; a store of a group without an active
        weighting keeps its own (nothing to inherit)."""
        return SQL(
            "CASE WHEN %(company)s.parent_id IS NULL OR %(group)s.id IS NULL "
            "OR (SELECT g.auto_crm_store_weighting FROM res_company g WHERE g.id = %(company)s.parent_id) "
            "THEN COALESCE(%(own)s.id, %(group)s.id) ELSE %(group)s.id END",
            company=company,
            own=own,
            group=group,
        )
