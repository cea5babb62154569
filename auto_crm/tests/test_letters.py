"""Letters (issue 14): one QWeb PDF letter per customer for the callbacks of channel letter, on the store's
letterhead, in the customer's language, printed in a batch from the board; the PDF's text is read back."""

import logging
import shutil
import subprocess
import tempfile

from odoo.exceptions import UserError
from odoo.tests import tagged

from .callback_common import CallbackCase
from .test_visit_reports import flat, known_wkhtmltopdf_notice, pdf_text

REPORT = "auto_crm.auto_crm_callback_report_letter"


def pdf_pages(pdf):
    """The number of pages of a PDF (pdfinfo, poppler-utils)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        out = subprocess.run(["pdfinfo", handle.name], capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


@tagged("post_install", "-at_install")
class TestLetters(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"name": "粤顺4S店 Letter Store", "phone": "+86 20 8888 0000"})
        cls.company.partner_id.write({"street": "天河路 100 号", "city": "广州"})
        cls.warranty = cls.make_rule(name="Warranty ending", trigger="warranty_end", active=False)
        cls.maintenance = cls.make_rule(name="Maintenance", trigger="maintenance_due", active=False)
        customers, vehicles = cls.make_customers(3)
        cls.first, cls.second, cls.third = customers
        cls.first.write({"name": "王五", "street": "中山路 8 号", "city": "佛山"})
        cls.second.name = "Li Lei"
        Callback = cls.env["auto_crm.callback"]
        # The first customer's earlier letter (closed since) and the open one: one letter lists both.
        cls.earlier = Callback.create(
            {"partner_id": cls.first.id, "channel": "letter", "rule_id": cls.warranty.id, "user_id": cls.agent.id}
        )
        cls.earlier.write({"state": "cancel", "close_reason": "other"})
        cls.open_letter = Callback.create(
            {
                "partner_id": cls.first.id,
                "channel": "letter",
                "rule_id": cls.maintenance.id,
                "questionnaire_id": cls.questionnaire.id,
                "vehicle_id": vehicles[0].id,
                "user_id": cls.agent.id,
            }
        )
        cls.second_letter = Callback.create({"partner_id": cls.second.id, "channel": "letter", "user_id": cls.agent.id})
        cls.phone_call = Callback.create({"partner_id": cls.third.id, "channel": "phone", "user_id": cls.agent.id})

    def setUp(self):
        super().setUp()
        self.assertEqual(self.env["ir.actions.report"].get_wkhtmltopdf_state(), "ok", "wkhtmltopdf is missing")
        self.assertTrue(shutil.which("pdfinfo"), "poppler-utils is missing")
        # As in test_visit_reports: the styles are not fetched over HTTP from this very server.
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        logger = logging.getLogger("odoo.addons.base.models.ir_actions_report")
        logger.addFilter(known_wkhtmltopdf_notice)
        self.addCleanup(logger.removeFilter, known_wkhtmltopdf_notice)

    def render(self, callbacks, user=None):
        report = self.env.ref(REPORT).with_context(force_report_rendering=True)
        if user:
            report = report.with_user(user)
        pdf, kind = report._render_qweb_pdf(report.report_name, callbacks.ids)
        self.assertEqual(kind, "pdf")
        return pdf

    def test_print_letters_from_the_board(self):
        selection = self.earlier | self.open_letter | self.second_letter | self.phone_call
        action = selection.with_user(self.agent).action_print_letters()
        self.assertEqual(action["type"], "ir.actions.report")
        self.assertEqual(action["report_name"], "auto_crm.report_callback_letter")
        self.assertEqual(
            set(action["context"]["active_ids"]), set((self.earlier | self.open_letter | self.second_letter).ids)
        )
        with self.assertRaisesRegex(UserError, "none of the selected callbacks has the channel Letter"):
            self.phone_call.with_user(self.agent).action_print_letters()
        report = self.env.ref(REPORT)
        self.assertEqual((report.binding_model_id.model, report.binding_type), ("auto_crm.callback", "report"))
        list_view = self.env.ref("auto_crm.auto_crm_callback_view_list")
        self.assertIn('name="action_print_letters"', list_view.arch)

    def test_one_page_per_customer_listing_all_its_letters(self):
        selection = self.earlier | self.open_letter | self.second_letter | self.phone_call
        pdf = self.render(selection, user=self.agent)
        self.assertEqual(pdf_pages(pdf), 2, "one page per customer; the phone call has no letter")
        text = flat(pdf_text(pdf))
        for expected in (
            "Dear 王五,",
            "中山路 8 号",
            "The warranty of your car",
            "is due for its next service",
            "Please tick one box per question",
            "Greeted?",
            "Overall?",
            "Dear Li Lei,",
            "Thank you for your visit",
            "粤顺4S店 Letter Store",  # the letterhead and the signature
            "+86 20 8888 0000",
            "天河路 100 号",
        ):
            with self.subTest(expected=expected):
                self.assertIn(expected, text)
        self.assertNotIn(self.third.name, text)
        self.assertEqual(text.count("Dear 王五"), 1, "one letter for the customer with two letter callbacks")
        pages = pdf_text(pdf).split("\f")
        self.assertIn("王五", pages[0])
        self.assertNotIn("Li Lei", pages[0])
        self.assertIn("Li Lei", pages[1])

    def test_letters_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])
        self.first.lang = "zh_CN"
        self.questionnaire.question_ids.filtered(lambda q: q.name == "Overall?").with_context(
            lang="zh_CN"
        ).name = "总体满意吗？"
        text = flat(pdf_text(self.render(self.open_letter | self.second_letter)))
        chinese = ("尊敬的王五", "您的爱车", "下一次保养", "请在每个问题", "总体满意吗？")
        for expected in (*chinese, "Dear Li Lei,", "粤顺4S店 Letter Store"):
            with self.subTest(expected=expected):
                self.assertIn(expected, text)
        self.assertNotIn("Dear 王五", text)

    def test_letters_grouped_by_store_and_customer(self):
        """A store prints on its own letterhead: the same customer written to by two stores gets two letters,
        one per store (each store's letters are one document for wkhtmltopdf, a page per letter)."""
        elsewhere = self.env["auto_crm.callback"].create(
            {"partner_id": self.first.id, "channel": "letter", "company_id": self.other_company.id}
        )
        batches = (self.earlier | self.open_letter | self.second_letter | self.phone_call | elsewhere)._letter_batches()
        self.assertEqual(
            [[(letter["partner"], letter["callbacks"]) for letter in batch] for batch in batches],
            [
                [(self.first, self.earlier | self.open_letter), (self.second, self.second_letter)],
                [(self.first, elsewhere)],
            ],
        )
        self.assertEqual([batch[0]["callbacks"].company_id for batch in batches], [self.company, self.other_company])
