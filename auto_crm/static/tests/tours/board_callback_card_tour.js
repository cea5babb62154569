import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

registry.category("web_tour.tours").add("auto_crm_board_callback_card_tour", {
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
            content: "The phone on its own line, click to call, without the plate",
            trigger: '.o_kanban_record:contains("卡片客户") .o_auto_crm_callback_phone:not(:contains("CARD1")) a[href="tel:+8613100007007"]',
        },
        {
            content: "The plate on a line of its own",
            trigger: '.o_kanban_record:contains("卡片客户") .o_auto_crm_callback_phone + .o_auto_crm_callback_vehicle:contains("CARD1")',
        },
        {
            content: "One attempt of three, nobody answered",
            trigger: '.o_kanban_record:contains("卡片客户") .o_auto_crm_callback_attempts:contains("1/3"):contains("No answer")',
        },
    ],
});
