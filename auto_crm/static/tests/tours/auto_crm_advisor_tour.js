import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

registry.category("web_tour.tours").add("auto_crm_advisor_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("auto_crm.auto_crm_menu_root", "Open the Dealer CRM app"),
        {
            content: "The service board shows the appointment column",
            trigger: '.o_kanban_group:contains("Appointment")',
        },
        {
            content: "Create a visit from the kanban board",
            trigger: ".o_control_panel_main_buttons .o-kanban-button-new",
            run: "click",
        },
        {
            content: "Pick the customer's car",
            trigger: '.o_field_widget[name="vehicle_id"] input',
            run: "edit TOUR1",
        },
        {
            content: "Choose the car in the dropdown",
            trigger: '.o-autocomplete--dropdown-item:contains("TOUR1")',
            run: "click",
        },
        {
            content: "The customer is filled from the car",
            trigger: '.o_field_widget[name="partner_id"] input:value("Tour Customer")',
        },
        {
            content: "Save the appointment",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved at the appointment stage",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("Appointment")',
        },
        {
            content: "Receive the car",
            trigger: 'button[name="action_receive"]',
            run: "click",
        },
        {
            content: "The visit is at reception",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("Reception")',
        },
    ],
});
