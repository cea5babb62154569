"""The repair order (派工单) and the settlement statement (结算单): QWeb PDF reports rendered by wkhtmltopdf,
on the store's letterhead, in the customer's language; the PDF's text is read back."""

import io
import logging
import re
import shutil
import subprocess
import tempfile

from odoo.tests import tagged
from odoo.tools.misc import format_amount

from .loyalty_common import LoyaltyCase

try:
    from PyPDF2 import PdfReader
except ImportError:  # pragma: no cover - PyPDF2 is in Odoo's requirements
    PdfReader = None


def pdf_text(pdf):
    """The text of a PDF: pdftotext (poppler-utils) when present, else PyPDF2 (Odoo's requirements)."""
    if shutil.which("pdftotext"):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(pdf)
            handle.flush()
            return subprocess.run(
                ["pdftotext", "-layout", "-enc", "UTF-8", handle.name, "-"], capture_output=True, check=True
            ).stdout.decode()
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


#: What Debian's wkhtmltopdf (built without its patched Qt) says on every PDF: it ignores the header and
#: footer pages (the reports repeat the letterhead in the page, see _report_letterhead_in_body); and,
#: in these tests only, that the styles could not be fetched (report.url is a closed port, see setUp).
UNPATCHED_QT_NOTICES = re.compile(
    r"The switch --[\w-]+, is not support using unpatched qt, and will be ignored\."
    r"|QStandardPaths: XDG_RUNTIME_DIR not set, defaulting to '[^']*'"
    r"|Exit with code 1 due to network error: ConnectionRefusedError"  # the closed report.url of the tests
)


def known_wkhtmltopdf_notice(record):
    """False for a log record that only repeats wkhtmltopdf's unpatched-Qt notices (anything else passes)."""
    message = record.getMessage()
    if not message.startswith("wkhtmltopdf:"):
        return True
    return bool(UNPATCHED_QT_NOTICES.sub("", message[len("wkhtmltopdf:") :]).strip())


def flat(text):
    """Spaces as a reader sees them (the PDF's text has plain spaces where the HTML had no-break ones)."""
    return " ".join(text.replace("\xa0", " ").split())


@tagged("post_install", "-at_install")
class TestVisitReports(LoyaltyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gold.parts_discount = 10
        cls.company.write({"name": "粤顺4S店 Test Store", "report_header": "Service hotline 400-800-1234"})
        cls.customer.write({"mobile": "+86 138 0000 0001"})

    def setUp(self):
        super().setUp()
        self.assertEqual(
            self.env["ir.actions.report"].get_wkhtmltopdf_state(),
            "ok",
            "wkhtmltopdf is missing: tools/dev installs it (apt-get install wkhtmltopdf)",
        )
        # wkhtmltopdf would fetch the report's styles over HTTP from web.base.url: in a test the server
        # waits on this very transaction (a deadlock), and web.base.url's port may be anybody's. Point it
        # at a closed port: the text is the same without styles, and wkhtmltopdf says why (below).
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        # tools/dev judges the suite's log strictly: let through every warning but those notices.
        logger = logging.getLogger("odoo.addons.base.models.ir_actions_report")
        logger.addFilter(known_wkhtmltopdf_notice)
        self.addCleanup(logger.removeFilter, known_wkhtmltopdf_notice)

    def make_repair(self):
        visit = self.make_visit(mileage_in=23456, customer_request="Noise from the front brakes")
        self.add_line(visit, "labour", 300, name="Replace front brake pads")
        self.add_line(visit, "part", 450, quantity=2, name="Brake pad set", part_number="BP-2041")
        return visit

    def render(self, xmlid, visit):
        report = self.env.ref(xmlid).with_context(force_report_rendering=True)
        pdf, kind = report._render_qweb_pdf(report.report_name, visit.ids)
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        return flat(pdf_text(pdf))

    def money(self, amount):
        return flat(format_amount(self.env, amount, self.company.currency_id))

    def test_actions_in_the_print_menu(self):
        for xmlid in (
            "auto_crm.auto_crm_service_visit_report_repair_order",
            "auto_crm.auto_crm_service_visit_report_settlement",
        ):
            report = self.env.ref(xmlid)
            self.assertEqual(report.binding_model_id.model, "auto_crm.service.visit")
            self.assertEqual(report.binding_type, "report")
            self.assertEqual(report.report_type, "qweb-pdf")

    def test_repair_order_pdf(self):
        visit = self.make_repair()
        text = self.render("auto_crm.auto_crm_service_visit_report_repair_order", visit)
        for expected in (
            "Repair Order",
            visit.name,
            "粤B·T0001",
            self.vehicle.vin,
            "张三",
            "Noise from the front brakes",
            "Replace front brake pads",
            "Brake pad set",
            "BP-2041",
            self.money(300),
            self.money(900),
            self.money(1200),
            "粤顺4S店 Test Store",  # the store's letterhead
            "Customer's signature",
        ):
            with self.subTest(expected=expected):
                self.assertIn(expected, text)

    def test_settlement_statement_pdf(self):
        self.deliver(2500)  # Gold: labour -5%, parts -10%
        visit = self.make_repair()
        visit.mileage_in = self._mileage + 500
        self.walk_to(visit, "followup")
        text = self.render("auto_crm.auto_crm_service_visit_report_settlement", visit)
        for expected in (
            "Settlement Statement",
            visit.name,
            "粤B·T0001",
            "Replace front brake pads",
            "Brake pad set",
            self.money(285),  # 300 less 5%
            self.money(810),  # 2 x 450 less 10%
            self.money(1095),
            "Cash",
            "Points Earned",
            "T-Gold",
        ):
            with self.subTest(expected=expected):
                self.assertIn(expected, text)

    def test_reports_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])
        self.customer.lang = "zh_CN"
        visit = self.make_repair()
        text = self.render("auto_crm.auto_crm_service_visit_report_repair_order", visit)
        chinese = ("派工单", "客户签字", "工时与配件", "单价", "工时", "配件", "合计")
        for expected in (*chinese, visit.name, "粤B·T0001", "Brake pad set"):
            with self.subTest(expected=expected):
                self.assertIn(expected, text)
        self.assertNotIn("Repair Order", text)
        self.assertRegex(text, r"预约时间： \d{4}年\d{2}月\d{2}日 \d{2}时\d{2}分 ", "Chinese dates, no seconds")
        self.assertNotIn("秒", text)
        # The messages of the desk are loaded in Chinese too (a term missing from the POT would be dropped).
        engine = self.env["auto_crm.callback.engine"].with_context(lang="zh_CN")
        self.assertEqual(engine._created_message(1, 1), "1 条规则共创建了 1 条回访任务。")
        self.customer.auto_callback_consent = False
        self.assertIn("未同意接受回访", self.customer.with_context(lang="zh_CN")._auto_crm_callback_blockers()[0])
        visit.payment_method = "mobile"
        text = self.render("auto_crm.auto_crm_service_visit_report_settlement", visit)
        for expected in ("结算单", visit.name, "移动支付", "应付金额"):
            with self.subTest(expected=expected):
                self.assertIn(expected, text)
        self.assertNotIn("Settlement Statement", text)
        # The same visit for an English-speaking customer stays in English.
        self.customer.lang = "en_US"
        self.assertIn("Repair Order", self.render("auto_crm.auto_crm_service_visit_report_repair_order", visit))
