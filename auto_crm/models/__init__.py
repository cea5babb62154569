from . import auto_crm_sequence_mixin
from . import res_partner
from . import auto_crm_vehicle
from . import auto_crm_vehicle_odometer
from . import auto_crm_vehicle_ownership
from . import auto_crm_service_visit
from . import auto_crm_service_visit_line
# complaints and corrective actions (issue 4)
from . import res_company
from . import auto_crm_complaint_category
from . import auto_crm_complaint_sla_policy
from . import auto_crm_complaint
from . import auto_crm_complaint_escalation
from . import auto_crm_corrective_action
