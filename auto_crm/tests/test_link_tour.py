"""The questionnaire link in a real browser (issue 14): an anonymous visitor on a phone-sized window
answers through the public link, and the callback is done with its satisfaction index."""

import re

import odoo.tests


@odoo.tests.tagged("post_install", "-at_install")
class TestLinkTour(odoo.tests.HttpCase):
    browser_size = "375x667"
    touch_enabled = True

    def test_customer_answers_on_a_phone(self):
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        env["auto_crm.callback.rule"].search([]).active = False
        questionnaire = env["auto_crm.questionnaire"].create(
            {
                "name": "Tour online questionnaire",
                "question_ids": [
                    (0, 0, {"sequence": 1, "name": "Were you greeted promptly?", "step": "greeting", "required": True}),
                    (0, 0, {"sequence": 2, "name": "Was your car clean?", "step": "cleanliness"}),
                    (
                        0,
                        0,
                        {"sequence": 3, "name": "How satisfied are you overall?", "step": "overall", "required": True},
                    ),
                ],
            }
        )
        customer = env["res.partner"].create(
            {
                "name": "手机问卷客户",
                "auto_customer": True,
                "auto_callback_consent": True,
                "email": "phone.customer@example.com",
                "lang": "en_US",
            }
        )
        callback = env["auto_crm.callback"].create({"partner_id": customer.id, "questionnaire_id": questionnaire.id})
        callback.action_send_link()
        mail = env["mail.mail"].sudo().search([("recipient_ids", "in", customer.ids)])
        token = re.search(r"/auto_crm/survey/([A-Za-z0-9_\-]+)", mail.body_html).group(1)
        self.assertTrue(callback.link_waiting)

        self.start_tour(f"/auto_crm/survey/{token}", "auto_crm_link_tour")  # no login: a visitor

        callback.invalidate_recordset()
        self.assertEqual(callback.state, "done")
        self.assertFalse(callback.link_waiting)
        self.assertEqual(callback.overall_score, 4)
        self.assertEqual(
            sorted((a.step, a.score, a.comment or "") for a in callback.answer_ids),
            [("cleanliness", "3", "The seats were dusty"), ("greeting", "5", ""), ("overall", "4", "")],
        )
        self.assertTrue(callback.csi_hierarchy_id, "the store's satisfaction index weights were applied")
        self.assertGreater(callback.csi, 0)
        self.assertEqual(callback.link_ids.state, "answered")
