import ast
import os
from xml.etree import ElementTree

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged

# Models whose views live outside views/<model>_views.xml, and where they live instead:
#  - inherited core models keep their own file named after the core model;
# SQL-view report models (`_auto = False`) live in report/<model>_views.xml and transient models
# (wizards) in wizard/<model>_views.xml.
OTHER_FILES = {
    "res.partner": "views/res_partner_views.xml",
    "res.config.settings": "views/res_config_settings_views.xml",
}
# A feature's own section of the settings (STYLE: res.config.settings inherited in a feature's own file).
SETTINGS_FEATURE_FILES = {"views/res_config_settings_scorecards_views.xml"}


@tagged("post_install", "-at_install")
class TestLayout(TransactionCase):
    """STYLE.md: one model per views file, named after the model; no auto_crm view extends another."""

    def _expected_file(self, model_name):
        if model_name in OTHER_FILES:
            return OTHER_FILES[model_name]
        model = self.env[model_name]
        base = model_name.replace(".", "_") + "_views.xml"
        if model._transient:
            return "wizard/" + base
        if not model._auto:
            return "report/" + base
        return "views/" + base

    def _own_views(self):
        data = self.env["ir.model.data"].search([("module", "=", "auto_crm"), ("model", "=", "ir.ui.view")])
        return self.env["ir.ui.view"].browse(data.mapped("res_id")).exists()

    def test_every_view_in_its_model_file(self):
        """Every view auto_crm loads, for a model auto_crm defines or extends, comes from the file
        named after that model (`arch_fs` holds the source path)."""
        own_models = {name for name, cls in self.env.registry.items() if cls._original_module == "auto_crm"}
        self.assertIn("auto_crm.callback", own_models)
        views = self._own_views()
        self.assertGreater(len(views), 50)
        for view in views:
            if view.type == "qweb" and not view.model:
                # QWeb report templates (no model): report/<model>_templates.xml, beside the actions; the
                # public pages' templates (issue 14): views/auto_crm_<page>_templates.xml.
                with self.subTest(view=view.xml_id):
                    self.assertRegex(view.arch_fs or "", r"^auto_crm/(report|views)/auto_crm_[a-z_]+_templates\.xml$")
                continue
            with self.subTest(view=view.xml_id):
                self.assertTrue(
                    view.model in own_models or view.model in OTHER_FILES,
                    "a view of a core model without a documented file",
                )
                self.assertTrue(view.arch_fs, "a view without source file")
                if view.model == "res.config.settings":
                    # each area's section of the settings in its own file (res_config_settings_<area>_views.xml)
                    self.assertRegex(view.arch_fs, r"^auto_crm/views/res_config_settings(_[a-z]+)?_views\.xml$")
                    continue
                self.assertEqual(view.arch_fs, "auto_crm/" + self._expected_file(view.model))

    def test_no_view_extends_an_auto_crm_view(self):
        views = self._own_views()
        inherited = views.inherit_id
        own = inherited.filtered(lambda v: v.xml_id.startswith("auto_crm."))
        self.assertFalse(own, "auto_crm views extending auto_crm views: {}".format(own.mapped("xml_id")))

    def test_actions_in_their_model_file(self):
        """Window actions hold no source file in the database: read the data files of the manifest."""
        path = get_module_path("auto_crm")
        with open(os.path.join(path, "__manifest__.py")) as f:
            manifest = ast.literal_eval(f.read())
        seen = 0
        for data_file in manifest["data"]:
            if not data_file.endswith("_views.xml"):
                continue
            root = ElementTree.parse(os.path.join(path, data_file)).getroot()
            for record in root.iter("record"):
                if record.get("model") == "ir.actions.act_window":
                    field = "res_model"
                elif record.get("model") == "ir.ui.view":
                    field = "model"
                else:
                    continue
                model = record.find(f"field[@name='{field}']").text.strip()
                seen += 1
                if model == "res.config.settings" and data_file in SETTINGS_FEATURE_FILES:
                    continue
                with self.subTest(record=record.get("id")):
                    if model == "res.config.settings":
                        self.assertRegex(data_file, r"^views/res_config_settings(_[a-z]+)?_views\.xml$")
                        continue
                    self.assertEqual(data_file, self._expected_file(model))
        self.assertGreater(seen, 50)
