import { registry } from "@web/core/registry";

const SECTION = ".app_settings_block[data-key='auto_crm']";

registry.category("web_tour.tours").add("auto_crm_settings_tour", {
    url: "/odoo/action-auto_crm.res_config_settings_action",
    steps: () => [
        {
            content: "The settings open at the Dealer CRM section, showing the store's values",
            trigger: `${SECTION} div[name='lifecycle_lost_days'] input:value(365)`,
        },
        {
            content: "The store's goodwill limit is shown, not zero",
            trigger: `${SECTION} div[name='complaint_goodwill_limit'] input:value(700.00)`,
        },
        {
            content: "The section links to the SLA policies",
            trigger: `${SECTION} button:contains("Edit SLA Policies")`,
        },
        {
            content: "Change when a customer counts as lost",
            trigger: `${SECTION} div[name='lifecycle_lost_days'] input`,
            run: "edit 400",
        },
        {
            content: "Mark the page, so that the last step sees the page reloaded after the save",
            trigger: "body",
            run() {
                document.body.classList.add("o_auto_crm_before_save");
            },
        },
        {
            content: "Save the settings",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved, and shown again after the reload",
            trigger: `body:not(.o_auto_crm_before_save) ${SECTION} div[name='lifecycle_lost_days'] input:value(400)`,
        },
    ],
});
