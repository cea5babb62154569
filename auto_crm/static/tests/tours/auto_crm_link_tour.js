import { registry } from "@web/core/registry";

// An anonymous visitor on a phone answers the questionnaire through the public link (issue 14).
registry.category("web_tour.tours").add("auto_crm_link_tour", {
    steps: () => [
        {
            content: "The questionnaire fits a phone's screen, its button as wide as the screen",
            trigger: ".o_auto_crm_survey_form .o_auto_crm_survey_submit",
            run() {
                const button = document.querySelector(".o_auto_crm_survey_submit");
                if (window.innerWidth > 400) {
                    throw new Error(`not a phone-sized window: ${window.innerWidth}px wide`);
                }
                if (button.getBoundingClientRect().width < window.innerWidth * 0.8) {
                    throw new Error("the send button is not a large touch target");
                }
            },
        },
        {
            content: "Greeting: very satisfied",
            trigger: "fieldset[data-step='greeting'] label[data-score='5']",
            run: "click",
        },
        {
            content: "Cleanliness: acceptable",
            trigger: "fieldset[data-step='cleanliness'] label[data-score='3']",
            run: "click",
        },
        {
            content: "A word about cleanliness",
            trigger: "fieldset[data-step='cleanliness'] input[type='text']",
            run: "edit The seats were dusty",
        },
        {
            content: "Overall: satisfied",
            trigger: "fieldset[data-step='overall'] label[data-score='4']",
            run: "click",
        },
        {
            content: "Send the answers",
            trigger: "fieldset[data-step='overall'] input[value='4']:checked + label",
            run() {
                document.querySelector(".o_auto_crm_survey_submit").click();
            },
        },
        {
            content: "Thanked",
            trigger: ".o_auto_crm_survey_thanks",
        },
    ],
});
