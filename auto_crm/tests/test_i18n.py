import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import file_path
from odoo.tools.translate import TranslationModuleReader


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    def test_zh_cn_translation_is_complete_and_current(self):
        """Every term Odoo would export for auto_crm has a Chinese translation in zh_CN.po."""
        reader = TranslationModuleReader(self.env.cr, modules=["auto_crm"])
        terms = {source for module, _type, _name, _res_id, source, _value, _comments in reader if module == "auto_crm"}
        self.assertGreater(len(terms), 100)
        po = polib.pofile(file_path("auto_crm/i18n/zh_CN.po"))
        translated = {entry.msgid for entry in po if entry.msgstr.strip() and not entry.obsolete}
        missing = sorted(terms - translated)
        self.assertFalse(missing, f"{len(missing)} terms lack a zh_CN translation, e.g. {missing[:10]}")

    def test_zh_cn_loads(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])
        menu = self.env.ref("auto_crm.auto_crm_menu_root").with_context(lang="zh_CN")
        self.assertEqual(menu.name, "经销商售后CRM")
        field = self.env["ir.model.fields"]._get("auto_crm.service.visit", "state").with_context(lang="zh_CN")
        self.assertEqual(field.field_description, "阶段")
