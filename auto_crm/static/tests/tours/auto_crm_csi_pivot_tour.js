import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("auto_crm_csi_pivot_tour", {
    steps: () => [
        {
            content: "The pivot shows the first store as a column",
            trigger: '.o_pivot th:contains("Tour Store East")',
        },
        {
            content: "and the second store",
            trigger: '.o_pivot th:contains("Tour Store West")',
        },
        {
            content: "The first store's index",
            trigger: ".o_pivot td.o_pivot_cell_value:contains(87.5)",
        },
        {
            content: "The second store's index",
            trigger: ".o_pivot td.o_pivot_cell_value:contains(62.5)",
        },
    ],
});
