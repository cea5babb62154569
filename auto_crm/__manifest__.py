{
    "name": "Dealer After-Sales CRM",
    "summary": "Customer and vehicle archives, the six-step service visit, callbacks and "
    "satisfaction for car dealerships (4S stores) and dealer groups",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "author": "auto_crm developers",
    "website": "https://github.com/auto-crm/auto_crm",
    "license": "LGPL-3",
    "depends": ["mail", "contacts", "fleet"],
    "external_dependencies": {"python": ["python-stdnum"]},
    "data": [
        "security/auto_crm_security.xml",
        "security/auto_crm_complaint_security.xml",
        "security/ir.model.access.csv",
        "data/auto_crm_sequence_data.xml",
        "data/auto_crm_complaint_data.xml",
        "views/res_partner_views.xml",
        "views/auto_crm_vehicle_views.xml",
        "views/auto_crm_vehicle_odometer_views.xml",
        "views/auto_crm_vehicle_ownership_views.xml",
        "views/auto_crm_service_visit_views.xml",
        "views/auto_crm_complaint_views.xml",
        "views/auto_crm_corrective_action_views.xml",
        "views/auto_crm_complaint_settings_views.xml",
        "views/auto_crm_menus.xml",
    ],
    "demo": [
        "demo/auto_crm_demo.xml",
        "demo/auto_crm_complaint_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "auto_crm/static/tests/tours/*.js",
        ],
    },
    "application": True,
    "installable": True,
}
