"""18.0.1.2.0: surveys are indexed by kind (issue 15).

The complaint-closing callback's questionnaire (``questionnaire_complaint_confirmation``, a noupdate
record, so the data file does not change it on update) was of kind *Other*: it becomes *Complaint
confirmation*. Its callbacks' stored ``survey_kind`` follows through the ORM's recompute, so the
confirmation calls leave the satisfaction index (CSI), which takes after-service calls only. A store
that changed the kind itself (anything but *Other*) keeps its choice.
"""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    questionnaire = env.ref("auto_crm.questionnaire_complaint_confirmation", raise_if_not_found=False)
    if questionnaire and questionnaire.kind == "other":
        questionnaire.with_context(active_test=False).write({"kind": "complaint_confirmation"})
        env.flush_all()
        _logger.info("auto_crm: the complaint confirmation questionnaire is now of kind complaint_confirmation")
