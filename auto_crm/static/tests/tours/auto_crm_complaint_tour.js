import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("auto_crm_complaint_tour", {
    url: "/odoo/action-auto_crm.auto_crm_complaint_action",
    steps: () => [
        {
            content: "The complaint board shows every stage",
            trigger: '.o_kanban_group:contains("Awaiting Customer Confirmation")',
        },
        {
            content: "Register a complaint",
            trigger: ".o_control_panel_main_buttons .o-kanban-button-new",
            run: "click",
        },
        {
            content: "Say what it is about",
            trigger: '.o_field_widget[name="subject"] input',
            run: "edit Car returned dirty",
        },
        {
            content: "Find the customer",
            trigger: '.o_field_widget[name="partner_id"] input',
            run: "edit Tour Complainer",
        },
        {
            content: "Choose the customer",
            trigger: '.o-autocomplete--dropdown-item:contains("Tour Complainer")',
            run: "click",
        },
        {
            content: "Save the complaint",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved as new, with its deadlines",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("New")',
        },
        {
            content: "Acknowledge it",
            trigger: 'button[name="action_acknowledge"]',
            run: "click",
        },
        {
            content: "The complaint is acknowledged",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("Acknowledged")',
        },
        {
            content: "Back to the board",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li.breadcrumb-item a",
            run: "click",
        },
        {
            content: "The card is in the acknowledged column",
            trigger: '.o_kanban_group:contains("Acknowledged") .o_kanban_record:contains("Car returned dirty")',
        },
        {
            content: "Open the analysis",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot shows the complaints",
            trigger: ".o_pivot .o_pivot_header_cell_closed, .o_pivot th",
        },
    ],
});
