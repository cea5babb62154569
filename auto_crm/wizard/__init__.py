from . import auto_crm_loyalty_points_wizard
