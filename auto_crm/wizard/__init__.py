from . import auto_crm_complaint_settings
