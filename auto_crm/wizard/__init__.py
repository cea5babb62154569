from . import auto_crm_loyalty_points_wizard
from . import auto_crm_callback_report_wizard
from . import auto_crm_callback_audit_wizard
