from . import auto_crm_survey
from . import auto_crm_sms_dlr
