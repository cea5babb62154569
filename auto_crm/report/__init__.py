from . import auto_crm_retention_report
from . import auto_crm_csi_report
from . import auto_crm_delivery_report
from . import auto_crm_mileage_retention_report
from . import auto_crm_vehicle_service_history
from . import auto_crm_staff_scorecard
