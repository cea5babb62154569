from . import test_partner
from . import test_vehicle
from . import test_service_visit
from . import test_access
from . import test_views
from . import test_tour
from . import test_complaint
from . import test_corrective_action
