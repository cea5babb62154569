"""Renames of 18.0.1.1.0: the superseded weighting version is no longer called "archived"."""

from odoo.addons.auto_crm.lib.migration import rename_field


def migrate(cr, version):
    if not version:
        return
    rename_field(cr, "auto_crm.csi.hierarchy", "date_archived", "date_superseded")
    cr.execute("UPDATE auto_crm_csi_hierarchy SET state = 'superseded' WHERE state = 'archived'")
