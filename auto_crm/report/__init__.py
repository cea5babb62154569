from . import auto_crm_retention_report
