"""18.0.1.2.0: the callbacks' stored ``survey_kind`` (the questionnaire's kind) is filled by one statement.

Left to the ORM, the new stored related field would be computed record by record on update: minutes at a
dealer group's millions of callbacks. The column is made here and filled from the questionnaires in SQL;
Odoo then finds it present and computes nothing. (The post script moves the complaint confirmation
questionnaire to its own kind; its callbacks follow by the ORM's recompute of those few rows.)
"""

import logging

from odoo.addons.auto_crm.lib.migration import column_exists

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version or column_exists(cr, "auto_crm_callback", "survey_kind"):
        return
    cr.execute("ALTER TABLE auto_crm_callback ADD COLUMN survey_kind varchar")
    cr.execute(
        """UPDATE auto_crm_callback c
              SET survey_kind = q.kind
             FROM auto_crm_questionnaire q
            WHERE q.id = c.questionnaire_id"""
    )
    _logger.info("auto_crm: survey_kind of %s callbacks set from their questionnaires", cr.rowcount)
