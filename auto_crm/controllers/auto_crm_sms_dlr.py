"""Delivery receipts (DLR) of the stores' HTTP SMS gateways (issue 14).

A gateway POSTs what became of the messages it accepted to ``/auto_crm/sms/dlr``, signed like the
requests the add-on sends it (``models/auto_crm_sms_provider.py``): the headers ``X-Auto-Crm-Key: <key
id>``, ``X-Auto-Crm-Timestamp: <unix seconds>`` and ``X-Auto-Crm-Signature: <hex HMAC-SHA256 of the
gateway's secret over "<timestamp>." + the body's bytes>``. The body is JSON, one report or many::

    {"reports": [{"id": "<the gateway's message id>", "status": "DELIVRD", "err_code": "", "reason": ""}]}

A request whose signature is wrong, or whose timestamp is more than five minutes away, is refused (403) and
nothing is written. The states are written back as Odoo's own IAP status webhook does (``sms.sms``, its
``sms.tracker`` and ``mail.notification``, see ``models/sms_sms.py``); a report of an unknown message changes
nothing; the same report twice changes nothing the second time.
"""

import json
import logging

from odoo import http
from odoo.http import request

_logger = logging.getLogger(__name__)

#: The largest body accepted (a gateway batches some hundreds of reports).
MAX_BODY = 1024 * 1024
MAX_REPORTS = 1000


class AutoCrmSmsDlr(http.Controller):
    @http.route("/auto_crm/sms/dlr", type="http", auth="public", methods=["POST"], csrf=False, save_session=False)
    def auto_crm_sms_dlr(self, **_kwargs):
        raw = request.httprequest.get_data(cache=True)
        headers = request.httprequest.headers
        if len(raw) > MAX_BODY:
            return request.make_json_response({"code": "TOO_LARGE"}, status=413)
        provider = (
            request.env["auto_crm.sms.provider"]
            .sudo()
            ._auto_crm_dlr_provider(
                headers.get("X-Auto-Crm-Key", ""),
                headers.get("X-Auto-Crm-Timestamp", ""),
                headers.get("X-Auto-Crm-Signature", ""),
                raw,
            )
        )
        if not provider:
            _logger.info("SMS delivery receipt refused: bad or stale signature")
            return request.make_json_response({"code": "FORBIDDEN"}, status=403)
        try:
            payload = json.loads(raw)
        except ValueError:
            return request.make_json_response({"code": "BAD_REQUEST", "message": "not JSON"}, status=400)
        reports = payload.get("reports", [payload]) if isinstance(payload, dict) else payload
        if not isinstance(reports, list) or len(reports) > MAX_REPORTS or not all(isinstance(r, dict) for r in reports):
            return request.make_json_response({"code": "BAD_REQUEST", "message": "reports"}, status=400)
        result = request.env["sms.sms"].sudo()._auto_crm_delivery(provider, reports)
        return request.make_json_response(dict(result, code="OK"))
