from . import auto_crm_sequence_mixin
from . import res_partner
from . import auto_crm_vehicle
from . import auto_crm_vehicle_odometer
from . import auto_crm_vehicle_ownership
from . import auto_crm_service_visit
from . import auto_crm_service_visit_line
