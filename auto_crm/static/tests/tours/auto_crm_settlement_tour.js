import { registry } from "@web/core/registry";

// Settlement at the desk (issue 12): a member's line takes the tier's discount, Redeem Points is offered
// only once there is something to pay, and the car is settled and delivered.
registry.category("web_tour.tours").add("auto_crm_settlement_tour", {
    steps: () => [
        {
            content: "The visit shows the member's benefits",
            trigger: '.o_field_widget[name="loyalty_benefits"]:contains("labour -5%")',
        },
        {
            content: "Nothing to pay yet: no Redeem Points",
            trigger: '.o_form_view:not(:has(button[name="action_open_redeem"]))',
        },
        {
            content: "Add a work line",
            trigger: '.o_field_widget[name="line_ids"] .o_field_x2many_list_row_add a',
            run: "click",
        },
        {
            content: "Describe the work",
            trigger: '.o_field_widget[name="line_ids"] .o_selected_row .o_field_widget[name="name"] input',
            run: "edit Brake service",
        },
        {
            content: "Price the work",
            trigger: '.o_field_widget[name="line_ids"] .o_selected_row .o_field_widget[name="unit_price"] input',
            run: "edit 1000",
        },
        {
            content: "The line takes the member's labour discount, read-only for the advisor",
            trigger: '.o_field_widget[name="line_ids"] .o_selected_row .o_field_widget[name="discount"]:not(:has(input)):contains("5.00")',
        },
        {
            content: "Save the visit",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The total is the discounted amount",
            trigger: '.o_field_widget[name="amount_total"]:contains("950.00")',
        },
        {
            content: "Now there is something to pay: Redeem Points is offered",
            trigger: 'button[name="action_open_redeem"]',
        },
        {
            content: "Settle",
            trigger: 'button[name="action_settle"]',
            run: "click",
        },
        {
            content: "Deliver the car",
            trigger: 'button[name="action_deliver"]',
            run: "click",
        },
        {
            content: "Delivered",
            trigger: '.o_statusbar_status .o_arrow_button_current:contains("Follow-up")',
        },
    ],
});
