"""The public page of the questionnaire link (issue 14): no login, the token in the address."""

from odoo import http
from odoo.exceptions import ValidationError
from odoo.http import request

from ..models.auto_crm_callback_link import SURVEY_ROUTE


class AutoCrmSurvey(http.Controller):
    def _survey_env(self, link):
        """Speak the customer's language (else the store's) when it is installed."""
        partner = link.callback_id.partner_id if link else None
        lang = (partner and partner.lang) or (link and link.company_id.partner_id.lang) or None
        installed = {code for code, _name in request.env["res.lang"].get_installed()}
        if lang in installed:
            request.update_context(lang=lang)

    def _render_form(self, link, token, error=None, scores=None, comments=None, status=200):
        callback = link.callback_id.with_context(lang=request.env.lang)
        questions = callback.questionnaire_id.question_ids.filtered("active").sorted("sequence")
        answer_field = request.env["auto_crm.callback.answer"]._fields["score"]
        return request.render(
            "auto_crm.survey_page",
            {
                "token": token,
                "link": link,
                "callback": callback,
                "company": callback.company_id,
                "questions": questions,
                "scale": answer_field._description_selection(request.env),
                "error": error,
                "scores": scores or {},
                "comments": comments or {},
            },
            status=status,
        )

    def _render_closed(self, link, reason, status=200):
        return request.render(
            "auto_crm.survey_closed",
            {"reason": reason, "company": link.company_id if link else request.env.company},
            status=status,
        )

    @http.route(SURVEY_ROUTE + "<string:token>", type="http", auth="public", methods=["GET"], sitemap=False)
    def survey(self, token, **kwargs):
        Link = request.env["auto_crm.callback.link"]
        link, reason = Link._find_token(token)
        self._survey_env(link)
        if reason:
            return self._render_closed(link, reason, status=404 if reason == "invalid" else 200)
        return self._render_form(link, token)

    @http.route(SURVEY_ROUTE + "<string:token>", type="http", auth="public", methods=["POST"], sitemap=False)
    def survey_submit(self, token, **post):
        Link = request.env["auto_crm.callback.link"]
        link, reason = Link._find_token(token)
        self._survey_env(link)
        if reason:
            return self._render_closed(link, reason, status=404 if reason == "invalid" else 200)
        scores, comments = {}, {}
        for key, value in post.items():
            kind, _sep, number = key.partition("_")
            if not number.isdigit():
                continue
            if kind == "score" and value:
                scores[int(number)] = value
            elif kind == "comment" and value:
                comments[int(number)] = value
        try:
            callback, reason = Link.with_context(lang=request.env.lang)._answer_online(token, scores, comments)
        except ValidationError as error:
            return self._render_form(link, token, error=error.args[0], scores=scores, comments=comments, status=400)
        if reason:
            return self._render_closed(link, reason)
        return request.render("auto_crm.survey_thanks", {"company": link.company_id})
