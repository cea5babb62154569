import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

registry.category("web_tour.tours").add("auto_crm_callback_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("auto_crm.auto_crm_menu_root", "Open the Dealer CRM app"),
        {
            content: "Open the callbacks menu",
            trigger: 'button[data-menu-xmlid="auto_crm.auto_crm_menu_callbacks"]',
            run: "click",
        },
        {
            content: "Open today's board",
            trigger: 'a[data-menu-xmlid="auto_crm.auto_crm_callback_menu"]',
            run: "click",
        },
        {
            content: "The board shows my calls of today",
            trigger: '.o_searchview_facet:contains("My Calls Today")',
        },
        {
            content: "Open the first customer's callback",
            trigger: '.o_kanban_group:contains("To Do") .o_kanban_record:contains("回访客户甲")',
            run: "click",
        },
        {
            content: "Log an attempt",
            trigger: 'button[name="action_log_attempt"]',
            run: "click",
        },
        {
            content: "Nobody answered",
            trigger: '.modal .o_field_widget[name="outcome"] input[data-value="no_answer"]',
            run: "click",
        },
        {
            content: "Save the attempt",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "One attempt is logged, the callback stays to do",
            trigger: '.o_field_widget[name="attempt_count"]:contains("1")',
        },
        {
            content: "Still to do",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("To Do")',
        },
        {
            content: "Back to the board",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "Open the second customer's callback",
            trigger: '.o_kanban_record:contains("回访客户乙")',
            run: "click",
        },
        {
            content: "Start the call",
            trigger: 'button[name="action_start"]',
            run: "click",
        },
        {
            content: "The call is in progress",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("In Progress")',
        },
        {
            content: "Answer the greeting question",
            trigger: '.o_field_widget[name="answer_ids"] .o_data_row:contains("Greeted promptly") td[name="score"]',
            run: "click",
        },
        {
            content: "Very satisfied",
            trigger: '.o_field_widget[name="answer_ids"] .o_data_row:contains("Greeted promptly") .o_field_widget[name="score"] select',
            run: 'select "5"',
        },
        {
            content: "Answer the overall question",
            trigger: '.o_field_widget[name="answer_ids"] .o_data_row:contains("Overall") td[name="score"]',
            run: "click",
        },
        {
            content: "Satisfied",
            trigger: '.o_field_widget[name="answer_ids"] .o_data_row:contains("Overall") .o_field_widget[name="score"] select',
            run: 'select "4"',
        },
        {
            content: "Complete the callback",
            trigger: 'button[name="action_done"]',
            run: "click",
        },
        {
            content: "The callback is done",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("Done")',
        },
    ],
});
