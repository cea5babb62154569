import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

/** A card's text must show times as hours and minutes only. */
function assertNoSeconds(card) {
    const text = card.innerText;
    if (/\d{1,2}:\d{2}:\d{2}/.test(text)) {
        throw new Error(`A time with seconds on the card: ${text}`);
    }
}

registry.category("web_tour.tours").add("auto_crm_board_workshop_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("auto_crm.auto_crm_menu_root", "Open the Dealer CRM app"),
        {
            content: "The late car's promised time is red",
            trigger: '.o_kanban_group:contains("Repair") .o_kanban_record:contains("BOARD1") .o_auto_crm_promise.o_auto_crm_promise_late.text-danger',
        },
        {
            content: "The late card: customer's phone as a link, the technician, the amount; no seconds",
            trigger: '.o_kanban_record:contains("BOARD1"):contains("Board Technician"):has(a[href^="tel:+8613900000001"]):has([name="amount_total"])',
            run() {
                assertNoSeconds(this.anchor);
            },
        },
        {
            content: "The appointment: its time without seconds, no amount, promised in time (green)",
            trigger: '.o_kanban_group:contains("Appointment") .o_kanban_record:contains("BOARD2"):not(:has([name="amount_total"])):has(.o_auto_crm_promise.o_auto_crm_promise_on_time)',
            run() {
                assertNoSeconds(this.anchor);
            },
        },
        {
            content: "The lateness progress bar of the repair column shows a late car",
            trigger: '.o_kanban_group:contains("Repair") .o_kanban_counter .progress-bar.bg-danger',
        },
        {
            content: "Delivered visits: a folded column",
            trigger: '.o_kanban_group.o_column_folded:contains("Follow-up")',
        },
        {
            content: "Open the filters",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Add the cancelled visits: seven columns",
            trigger: '.o_filter_menu .o_menu_item:contains("Cancelled")',
            run: "click",
        },
        {
            content: "All seven columns fit beside the side panel",
            trigger: '.o_kanban_renderer:has(.o_kanban_group.o_column_folded:contains("Cancelled"))',
            run() {
                const groups = document.querySelectorAll(".o_kanban_renderer .o_kanban_group");
                if (groups.length !== 7) {
                    throw new Error(`${groups.length} columns instead of 7`);
                }
                const renderer = document.querySelector(".o_kanban_renderer");
                const right = renderer.getBoundingClientRect().right;
                for (const group of groups) {
                    if (group.getBoundingClientRect().right > right + 1) {
                        throw new Error(`The column ${group.innerText.split("\n")[0]} is cut off`);
                    }
                }
            },
        },
        {
            content: "Only the late visits",
            trigger: '.o_filter_menu .o_menu_item:contains("Late")',
            run: "click",
        },
        {
            content: "The late car stays, the car in time goes",
            trigger: '.o_kanban_renderer:has(.o_kanban_record:contains("BOARD1")):not(:has(.o_kanban_record:contains("BOARD2")))',
        },
        {
            content: "The filter is on",
            trigger: '.o_searchview_facet:contains("Late")',
        },
    ],
});
