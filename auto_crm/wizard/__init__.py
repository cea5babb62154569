from . import auto_crm_loyalty_points_wizard
from . import auto_crm_callback_report_wizard
from . import auto_crm_staff_handover_wizard
from . import auto_crm_daily_report_wizard
from . import auto_crm_vehicle_receive_wizard
from . import auto_crm_customer_transfer_wizard
from . import auto_crm_callback_audit_wizard
