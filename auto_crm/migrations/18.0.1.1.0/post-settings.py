"""18.0.1.1.0: the segment, lifecycle, retention and completeness settings move from the loyalty
programme (``auto_crm.loyalty.program``) to the store (``res.company``, Settings → Dealer CRM).

This runs after the update has created the store's new columns (filled with their defaults) and
before Odoo drops the programme's old columns at the end of the update. A store with a programme
gets its programme's values (an archived programme's too: they are the store's last choice); a
store without one keeps the defaults, and gets the default completeness standard, as the nightly
run used to give it.

Then what the moved settings and the removed complaint-settings dialog leave behind goes: the
programme's relation tables (Odoo drops a removed field's column, not its relation table), the
dialog's table and its record rule (a noupdate record whose xmlid would stay behind, dangling).
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import column_exists, table_exists

_logger = logging.getLogger(__name__)

#: Programme column → store column.
MOVED_COLUMNS = {
    "value_a_spend": "value_grade_a_spend",
    "value_a_visits": "value_grade_a_visits",
    "value_b_spend": "value_grade_b_spend",
    "value_b_visits": "value_grade_b_visits",
    "satisfied_visits": "lifecycle_satisfied_visits",
    "retained_visits": "lifecycle_retained_visits",
    "loyal_visits": "lifecycle_loyal_visits",
    "at_risk_days": "lifecycle_at_risk_days",
    "lost_days": "lifecycle_lost_days",
    "service_interval_months": "retention_service_interval_months",
    "return_grace_months": "retention_return_grace_months",
    "completeness_archive": "completeness_profile",
}
#: Programme relation table → store relation table (the completeness standard).
MOVED_RELATIONS = {
    "auto_crm_loyalty_program_partner_field_rel": "res_company_auto_crm_partner_field_rel",
    "auto_crm_loyalty_program_vehicle_field_rel": "res_company_auto_crm_vehicle_field_rel",
}


def migrate(cr, version):
    if not version or not column_exists(cr, "auto_crm_loyalty_program", "lost_days"):
        return  # a new database, or the settings have moved already
    columns = {old: new for old, new in MOVED_COLUMNS.items() if column_exists(cr, "auto_crm_loyalty_program", old)}
    if columns:
        cr.execute(
            SQL(
                "UPDATE res_company c SET %s FROM auto_crm_loyalty_program p WHERE p.company_id = c.id",
                SQL(", ").join(
                    SQL("%s = COALESCE(p.%s, c.%s)", SQL.identifier(new), SQL.identifier(old), SQL.identifier(new))
                    for old, new in columns.items()
                ),
            )
        )
        _logger.info("Dealer CRM settings: %s moved from the programmes of %s store(s)", len(columns), cr.rowcount)
    for old, new in MOVED_RELATIONS.items():
        if not table_exists(cr, old):
            continue
        cr.execute(
            SQL(
                """
                INSERT INTO %(new)s (company_id, field_id)
                SELECT p.company_id, r.ir_model_fields_id
                  FROM %(old)s r
                  JOIN auto_crm_loyalty_program p ON p.id = r.auto_crm_loyalty_program_id
                ON CONFLICT DO NOTHING
                """,
                new=SQL.identifier(new),
                old=SQL.identifier(old),
            )
        )
        _logger.info("Dealer CRM settings: %s completeness field(s) moved to the stores (%s)", cr.rowcount, new)
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.company"].invalidate_model()
    cr.execute(
        """
        SELECT c.id FROM res_company c
         WHERE NOT EXISTS (SELECT 1 FROM auto_crm_loyalty_program p WHERE p.company_id = c.id)
        """
    )
    without_programme = env["res.company"].browse([row[0] for row in cr.fetchall()])
    without_programme._auto_crm_set_default_completeness()
    if without_programme:
        _logger.info("Dealer CRM settings: default completeness standard for stores %s", without_programme.ids)

    for old in MOVED_RELATIONS:
        cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(old)))
        cr.execute("DELETE FROM ir_model_relation WHERE name = %s", [old])
    rule = env.ref("auto_crm.auto_crm_complaint_settings_rule_company", raise_if_not_found=False)
    if rule:
        rule.unlink()
    cr.execute("DROP TABLE IF EXISTS auto_crm_complaint_settings")
