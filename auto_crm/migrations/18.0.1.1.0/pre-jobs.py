"""Job state of 18.0.1.1.0 (before the update): the corrective action's last reminder error now comes
from the job run log (a computed field of the same name): its column goes."""

from odoo.addons.auto_crm.lib.migration import column_exists


def migrate(cr, version):
    if not version:
        return
    if column_exists(cr, "auto_crm_corrective_action", "overdue_reminder_error"):
        cr.execute("ALTER TABLE auto_crm_corrective_action DROP COLUMN overdue_reminder_error")
