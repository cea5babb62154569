"""Run the tests of auto_crm/lib without Odoo.

The tests import the pure-Python modules as top-level modules (``import ahp``), so the lib
directory goes on ``sys.path``. This directory deliberately has no ``__init__.py``: with one,
pytest would import this file as ``auto_crm.lib.tests.conftest`` and so run
``auto_crm/__init__.py``, which imports Odoo.

When pytest's rootdir is above the add-on (e.g. ``pytest auto_crm/lib/tests`` from the
repository), it also treats ``auto_crm`` and ``auto_crm/lib`` as packages and imports their
``__init__.py`` while setting the tests up. An empty stand-in module for ``auto_crm`` keeps the
add-on's real ``__init__`` (and so Odoo) out of that; ``auto_crm/lib/__init__.py`` itself is
Odoo-free and is imported for real.
"""

import sys
import types
from pathlib import Path

LIB_DIR = Path(__file__).resolve().parent.parent
ADDON_DIR = LIB_DIR.parent

if str(LIB_DIR) not in sys.path:
    sys.path.insert(0, str(LIB_DIR))

if ADDON_DIR.name not in sys.modules:
    _addon = types.ModuleType(ADDON_DIR.name, "Stand-in for the Odoo add-on package (tests only).")
    _addon.__file__ = str(ADDON_DIR / "__init__.py")
    _addon.__path__ = [str(ADDON_DIR)]
    sys.modules[ADDON_DIR.name] = _addon
