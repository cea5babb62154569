"""Renames of 18.0.1.1.0: every field the add-on adds to ``res.partner`` starts with ``auto_``, and the
customer-file confirmation (created / verified / filed) is the "profile", no longer the "archive"
("archive" is Odoo's ``active`` flag only).

The columns, the ``ir.model.fields`` rows (tracking values, exports, the stores' completeness standards
point at them by id) and their XML ids are renamed in place; so are the unique index on the ID card
number, the customers' menu and the saved filters and window actions on contacts that name the old fields.
"""

import re

from odoo.addons.auto_crm.lib.migration import rename_field

#: Old name → new name of the fields of ``res.partner`` added by auto_crm.
PARTNER_FIELDS = {
    "is_auto_customer": "auto_customer",
    "id_card_number": "auto_id_card_number",
    "id_card_number_masked": "auto_id_card_number_masked",
    "birthday": "auto_birthday",
    "occupation": "auto_occupation",
    "education": "auto_education",
    "income_band": "auto_income_band",
    "employer": "auto_employer",
    "hobbies": "auto_hobbies",
    "preferred_channel": "auto_preferred_channel",
    "callback_consent": "auto_callback_consent",
    "callback_consent_date": "auto_callback_consent_date",
    "do_not_disturb": "auto_do_not_disturb",
    "do_not_disturb_date": "auto_do_not_disturb_date",
    "do_not_disturb_reason": "auto_do_not_disturb_reason",
    "payment_habit": "auto_payment_habit",
    "customer_manager_id": "auto_customer_manager_id",
    "last_visit_date": "auto_last_visit_date",
    "archive_state": "auto_profile_state",
    "archive_created_by_id": "auto_profile_created_by_id",
    "archive_verified_by_id": "auto_profile_verified_by_id",
    "archive_verified_date": "auto_profile_verified_date",
    "archive_filed_by_id": "auto_profile_filed_by_id",
    "archive_filed_date": "auto_profile_filed_date",
    "value_grade": "auto_value_grade",
    "prospect_confidence": "auto_prospect_confidence",
    "prospect_need": "auto_prospect_need",
    "prospect_purchasing_power": "auto_prospect_purchasing_power",
    "prospect_grade": "auto_prospect_grade",
    "lifecycle_stage": "auto_lifecycle_stage",
    "lifecycle_stage_date": "auto_lifecycle_stage_date",
    "completeness_score": "auto_completeness_score",
    "spend_12m": "auto_spend_12m",
    "visits_12m": "auto_visits_12m",
    "loyalty_member_ids": "auto_loyalty_member_ids",
}
#: Old → new XML ids of auto_crm records that are not fields.
XMLIDS = {"auto_crm_menu_archive": "auto_crm_menu_customers"}
#: Views of 18.0.1.0.0 that extended the add-on's own contact views and are gone in 18.0.1.1.0 (their content
#: is in those views now). They name the old fields, so they go before the new views are validated against them.
OBSOLETE_VIEWS = ("res_partner_view_form_loyalty", "res_partner_view_search_loyalty", "res_partner_view_form_callback")
#: An old field name as a whole word, or as a ``default_<name>`` context key (``search_default_<name>``
#: names a search filter, not a field, and stays).
OLD_NAME = re.compile(
    r"(?<![A-Za-z0-9_])(default_)?(" + "|".join(sorted(PARTNER_FIELDS, key=len, reverse=True)) + r")(?![A-Za-z0-9_])"
)


def _rename_in_text(text):
    return OLD_NAME.sub(lambda match: (match.group(1) or "") + PARTNER_FIELDS[match.group(2)], text)


def _rename_in_columns(cr, table, columns, where, params):
    """Rename the old field names in these text columns of the rows of ``table`` that match ``where``."""
    for column in columns:
        cr.execute(f'SELECT id, "{column}" FROM "{table}" WHERE {where} AND "{column}" IS NOT NULL', params)
        for row_id, text in cr.fetchall():
            new = _rename_in_text(text)
            if new != text:
                cr.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', (new, row_id))


def migrate(cr, version):
    if not version:
        return
    for old, new in PARTNER_FIELDS.items():
        rename_field(cr, "res.partner", old, new)
    cr.execute(
        "ALTER INDEX IF EXISTS res_partner_auto_crm_id_card_number_uniq RENAME TO res_partner_auto_id_card_number_uniq"
    )
    cr.execute(
        """
        DELETE FROM ir_ui_view v USING ir_model_data d
         WHERE d.module = 'auto_crm' AND d.model = 'ir.ui.view' AND d.res_id = v.id AND d.name IN %s
        """,
        (OBSOLETE_VIEWS,),
    )
    cr.execute(
        "DELETE FROM ir_model_data WHERE module = 'auto_crm' AND model = 'ir.ui.view' AND name IN %s", (OBSOLETE_VIEWS,)
    )
    for old, new in XMLIDS.items():
        cr.execute("UPDATE ir_model_data SET name = %s WHERE module = 'auto_crm' AND name = %s", (new, old))
    # Saved filters (favourites) and window actions on contacts that name the old fields.
    _rename_in_columns(cr, "ir_filters", ("domain", "context", "sort"), "model_id = %s", ("res.partner",))
    _rename_in_columns(cr, "ir_act_window", ("domain", "context"), "res_model = %s", ("res.partner",))
