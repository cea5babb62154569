import { registry } from "@web/core/registry";

// The advisor's desk (issue 12): a new customer is created from the visit with the desk form (mobile,
// consent, do-not-disturb), the visit warns while the customer would not be called back, and a new car
// keeps the plate typed in the visit.
registry.category("web_tour.tours").add("auto_crm_desk_tour", {
    url: "/odoo/action-auto_crm.auto_crm_service_visit_action/new",
    steps: () => [
        {
            content: "Type the new customer's name",
            trigger: '.o_field_widget[name="partner_id"] input',
            run: "edit Desk Tour Customer",
        },
        {
            content: "Create and edit the customer",
            trigger: ".o_m2o_dropdown_option_create_edit",
            run: "click",
        },
        {
            content: "The desk form asks for the callback consent",
            trigger: '.modal .o_field_widget[name="auto_callback_consent"]',
        },
        {
            content: "Type the customer's mobile",
            trigger: '.modal .o_field_widget[name="mobile"] input',
            run: "edit 139 0000 0099",
        },
        {
            content: "Save the customer",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The visit warns: no consent, no callback",
            trigger: '.alert-warning:contains("has not agreed to callbacks")',
        },
        {
            content: "The customer agrees to callbacks, on the visit itself",
            trigger: '.o_field_widget[name="partner_callback_consent"] input',
            run: "click",
        },
        {
            content: "The warning is gone",
            trigger: 'body:not(:has(div[name="callback_warning"]))',
        },
        {
            content: "Type the new car's plate",
            trigger: '.o_field_widget[name="vehicle_id"] input',
            run: "edit 粤B54321",
        },
        {
            content: "Create and edit the car",
            trigger: ".o_m2o_dropdown_option_create_edit",
            run: "click",
        },
        {
            content: "The car form keeps the plate typed",
            trigger: '.modal .o_field_widget[name="plate"] input:value("粤B54321")',
        },
        {
            content: "Type the VIN",
            trigger: '.modal .o_field_widget[name="vin"] input',
            run: "edit LSVAU2183N2888888",
        },
        {
            content: "Save the car",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The car is on the visit",
            trigger: 'body:not(:has(.modal)) .o_field_widget[name="vehicle_id"] input:value("粤B54321")',
        },
        {
            content: "The consent typed on the visit is kept",
            trigger: '.o_field_widget[name="partner_callback_consent"] input:checked',
        },
        {
            content: "Still no warning",
            trigger: 'body:not(:has(div[name="callback_warning"]))',
        },
        {
            content: "Save the visit",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_saved",
        },
    ],
});
