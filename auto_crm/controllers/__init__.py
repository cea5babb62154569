from . import auto_crm_survey
