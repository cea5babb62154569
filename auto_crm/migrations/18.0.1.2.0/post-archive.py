"""18.0.1.2.0: the stores of a dealer group read each other's cars when the group shares its customer
archive. The vehicles' company rule (a noupdate record, left as it was by the update) stops governing
reading: the new read rule ``auto_crm_vehicle_rule_company_read``, created by the update, does; the old
rule keeps writing, creating and deleting to the user's stores."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    rule = env.ref("auto_crm.auto_crm_vehicle_rule_company", raise_if_not_found=False)
    if rule and rule.perm_read:
        rule.perm_read = False
