"""Benchmark case of the reminder job (issue 14): the callbacks of channel e-mail and SMS due today get
their message queued, as the hourly cron does, against the raw SQL insert of the same queue rows.

- *reminders: queue e-mail and SMS* — ``auto_crm.callback._cron_send_reminders()``: per batch, the checks
  (consent, do-not-disturb, opt-outs, blacklists), each template rendered once per language and store with
  placeholders filled in per callback, and the rows inserted in multi-row statements: the e-mail
  (mail.message in the callback's chatter, mail.mail and its recipient), the SMS (sms.sms and the note on
  the callback it hangs on), a note in each customer's chatter, and the stamp.
- floor: the same rows, column by column and value by value, inserted by one SQL statement (INSERT ...
  SELECT from the callbacks, the texts concatenated in SQL around the customer's name and number; the
  constant parts of the texts are rendered once before the timing). Before the timing, the job and the
  floor each run once (rolled back) and their rows are compared field by field.

``prepare`` makes ``REACH_N`` (default 100,000) consenting customers with an e-mail and a mobile and one
callback each due today, half by e-mail, half by SMS, in SQL, after closing the other open e-mail and SMS
callbacks (all rolled back with the case). Runs and floors are rolled back after each repetition.
"""

import os

from markupsafe import escape

from odoo.tools import SQL, html_sanitize

N = int(os.environ.get("REACH_N", "100000"))

#: The columns compared between the job's rows and the floor's (ids, dates, random message ids and
#: uuids aside).
CHECKS = {
    "mail_message": """SELECT model, res_id, message_type, subject, body, email_from, reply_to, record_name,
                              author_id, subtype_id, email_add_signature, create_uid, write_uid
                         FROM mail_message WHERE id > %(message)s""",
    "mail_mail": """SELECT m.res_id, mm.body_html, mm.state, mm.auto_delete, mm.email_to, mm.email_cc,
                           mm.is_notification, mm.create_uid
                      FROM mail_mail mm JOIN mail_message m ON m.id = mm.mail_message_id WHERE mm.id > %(mail)s""",
    "mail_mail_res_partner_rel": """SELECT m.res_id, r.res_partner_id FROM mail_mail_res_partner_rel r
                                      JOIN mail_mail mm ON mm.id = r.mail_mail_id
                                      JOIN mail_message m ON m.id = mm.mail_message_id WHERE mm.id > %(mail)s""",
    "sms_sms": """SELECT s.partner_id, s.auto_crm_company_id, s.number, s.body, s.state, m.model, m.res_id,
                         s.to_delete, s.create_uid, length(s.uuid)
                    FROM sms_sms s JOIN mail_message m ON m.id = s.mail_message_id WHERE s.id > %(sms)s""",
    "auto_crm_callback": """SELECT id, reminder_state, reminder_note, reminder_date IS NOT NULL, write_uid
                              FROM auto_crm_callback WHERE id = ANY(%(ids)s)""",
}


def prepare(env):
    cr = env.cr
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True))
    cr.execute(
        "UPDATE auto_crm_callback SET state = 'cancel'"
        " WHERE channel IN ('email', 'sms') AND state IN ('todo', 'in_progress')"
    )
    store = env.company
    store.write({"email": "service@store.example.com", "phone": "+86 20 8888 0000"})
    today = store._auto_crm_today()
    # The customers and their callbacks, in SQL (the ORM would take minutes at 100,000): what the ORM
    # would store (E.164 mobile, normalised e-mail, the phone_sanitized the blacklist checks).
    cr.execute(
        SQL(
            """
            WITH customers AS (
                INSERT INTO res_partner (name, complete_name, active, type, lang, auto_customer,
                                         auto_callback_consent, email, email_normalized, mobile, phone_sanitized,
                                         company_id, create_uid, create_date, write_uid, write_date)
                SELECT 'Reach Bench ' || i, 'Reach Bench ' || i, TRUE, 'contact', 'en_US', TRUE, TRUE,
                       'reach.bench.' || i || '@example.com', 'reach.bench.' || i || '@example.com',
                       '+86135' || lpad(i::text, 8, '0'), '+86135' || lpad(i::text, 8, '0'), %(store)s,
                       1, now(), 1, now()
                  FROM generate_series(0, %(n)s - 1) AS i
             RETURNING id
            )
            SELECT id FROM customers ORDER BY id
            """,
            store=store.id,
            n=N,
        )
    )
    partner_ids = [row[0] for row in cr.fetchall()]
    cr.execute(
        SQL(
            """
            INSERT INTO auto_crm_callback (name, partner_id, company_id, channel, date_due, state,
                                           create_uid, create_date, write_uid, write_date)
            SELECT 'Callback', p.id, %(store)s, CASE WHEN mod(p.n, 2) = 1 THEN 'email' ELSE 'sms' END, %(today)s,
                   'todo', 1, now(), 1, now()
              FROM unnest(%(partners)s::int[]) WITH ORDINALITY AS p(id, n)
         RETURNING id
            """,
            store=store.id,
            today=today,
            partners=partner_ids,
        )
    )
    ids = sorted(row[0] for row in cr.fetchall())
    env.invalidate_all()
    state = {"ids": ids, "store": store.id, "uid": env.uid}
    state.update(floor_texts(env, ids))
    check_same_rows(env, state)
    return state


def floor_texts(env, ids):
    """The constant parts of the texts, rendered once from the templates around a customer's name (the
    floor concatenates them in SQL)."""
    callback = env["auto_crm.callback"].browse(ids[0])
    name = callback.partner_id.name
    mail = env.ref("auto_crm.mail_template_reminder_followup")
    sms = env.ref("auto_crm.sms_template_reminder")
    html = str(mail._render_field("body_html", [callback.id], compute_lang=True)[callback.id])
    html_pre, html_post = html.split(str(escape(name)), 1)
    body = html_sanitize(html, sanitize_style=True)
    body_pre, body_post = body.split(name, 1)
    text = mail._render_field("body", [callback.id], compute_lang=True)[callback.id] if "body" in mail else ""
    del text
    sms_body = sms._render_field("body", [callback.id], compute_lang=True)[callback.id]
    sms_pre, sms_post = sms_body.split(name, 1)
    author = env.ref("base.partner_root")
    return {
        "subject": mail._render_field("subject", [callback.id], compute_lang=True)[callback.id],
        "email_from": mail._render_field("email_from", [callback.id], compute_lang=True)[callback.id],
        "reply_to": mail._render_field("reply_to", [callback.id], compute_lang=True)[callback.id],
        "html_pre": html_pre,
        "html_post": html_post,
        "body_pre": body_pre,
        "body_post": body_post,
        "sms_pre": sms_pre,
        "sms_post": sms_post,
        "note_from": author.email_formatted,
        "note_author": author.id,
        "note_subtype": env.ref("mail.mt_note").id,
        "author": env.user.partner_id.id,
    }


def rows(cr, marks):
    out = {}
    for table, query in CHECKS.items():
        cr.execute(query, marks)
        out[table] = sorted(map(repr, cr.fetchall()))
    return out


def check_same_rows(env, state):
    """The job and the floor, once each (rolled back): the same rows, field by field."""
    cr = env.cr
    cr.execute("SELECT max(id) FROM mail_message")
    marks = {"message": cr.fetchone()[0] or 0, "ids": state["ids"]}
    cr.execute("SELECT max(id) FROM mail_mail")
    marks["mail"] = cr.fetchone()[0] or 0
    cr.execute("SELECT max(id) FROM sms_sms")
    marks["sms"] = cr.fetchone()[0] or 0
    results = []
    for fn in (lambda: run(env, state), lambda: floor(cr, state)):
        cr.execute("SAVEPOINT reach_check")
        try:
            fn()
            env.flush_all()
            results.append(rows(cr, marks))
        finally:
            cr.execute("ROLLBACK TO SAVEPOINT reach_check")
            env.invalidate_all()
    job, raw = results
    for table in CHECKS:
        assert len(job[table]) == len(raw[table]), (table, len(job[table]), len(raw[table]))
        for a, b in zip(job[table], raw[table], strict=True):
            assert a == b, (table, a, b)
    counts = {table: len(job[table]) for table in CHECKS}
    expected = {"mail_message": 2 * N, "mail_mail": N // 2, "sms_sms": N - N // 2, "auto_crm_callback": N}
    for table, count in expected.items():
        assert counts[table] == count, (table, counts[table], count)
    print(f"    reach: the job's rows and the floor's are the same, field by field: {counts}", flush=True)


def run(env, state):
    run = env["auto_crm.callback"]._cron_send_reminders()
    assert run.state == "done" and run.processed_count == N, (run.state, run.processed_count, run.message)


def floor(cr, state):
    esc_text = "replace(replace(replace({0}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
    esc_html = f"replace(replace({esc_text}, '\"', '&#34;'), '''', '&#39;')"
    # The CTEs are estimated at a few rows, so the planner would nest loops over them (minutes at 100,000):
    # hash joins, for this statement only (SET LOCAL in the repetition's savepoint, undone by its rollback).
    cr.execute("SET LOCAL enable_nestloop = off")
    cr.execute(
        SQL(
            """
            WITH due AS MATERIALIZED (
                SELECT c.id, c.channel, c.partner_id, c.name AS callback, p.name, p.mobile,
                       coalesce(p.company_id, %(store)s) AS store
                  FROM auto_crm_callback c
                  JOIN res_partner p ON p.id = c.partner_id
                 WHERE c.id = ANY(%(ids)s) AND c.reminder_date IS NULL
            ), messages AS (
                INSERT INTO mail_message (model, res_id, message_type, subject, body, email_from, reply_to,
                                          record_name, message_id, date, create_uid, create_date, write_uid,
                                          write_date, author_id, email_add_signature)
                SELECT 'auto_crm.callback', id, 'email_outgoing', %(subject)s,
                       %(body_pre)s || {name_text} || %(body_post)s, %(email_from)s, %(reply_to)s, callback,
                       '<' || md5(random()::text) || '-openerp-message-notify@bench>', now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC', %(author)s, TRUE
                  FROM due WHERE channel = 'email'
             RETURNING id, res_id
            ), mails AS (
                INSERT INTO mail_mail (mail_message_id, body_html, state, auto_delete, email_to, email_cc,
                                       create_uid, create_date, write_uid, write_date)
                SELECT m.id, %(html_pre)s || {name_html} || %(html_post)s, 'outgoing', TRUE, '', '',
                       %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
                  FROM messages m JOIN due ON due.id = m.res_id
             RETURNING id, mail_message_id
            ), recipients AS (
                INSERT INTO mail_mail_res_partner_rel (mail_mail_id, res_partner_id)
                SELECT mails.id, due.partner_id FROM mails JOIN messages m ON m.id = mails.mail_message_id
                  JOIN due ON due.id = m.res_id
            ), sms_notes AS (
                INSERT INTO mail_message (model, res_id, message_type, subtype_id, author_id, email_from, reply_to,
                                          record_name, body, message_id, date, create_uid, create_date,
                                          write_uid, write_date, email_add_signature)
                SELECT 'auto_crm.callback', id, 'comment', %(note_subtype)s, %(note_author)s, %(note_from)s,
                       %(note_from)s, callback,
                       '<p>SMS reminder queued to ' || {mobile_text} || ': '
                           || {sms_text} || '</p>',
                       '<' || md5(random()::text) || '-openerp-message-notify@bench>', now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC', TRUE
                  FROM due WHERE channel = 'sms'
             RETURNING id, res_id
            ), sms AS (
                INSERT INTO sms_sms (partner_id, auto_crm_company_id, number, body, state, mail_message_id, uuid,
                                     to_delete, create_uid, create_date, write_uid, write_date)
                SELECT due.partner_id, due.store, due.mobile, %(sms_pre)s || due.name || %(sms_post)s, 'outgoing',
                       n.id, md5(random()::text || n.id), FALSE, %(uid)s, now() at time zone 'UTC', %(uid)s,
                       now() at time zone 'UTC'
                  FROM sms_notes n JOIN due ON due.id = n.res_id
            ), notes AS (
                INSERT INTO mail_message (model, res_id, message_type, subtype_id, author_id, email_from, reply_to,
                                          record_name, body, message_id, date, create_uid, create_date,
                                          write_uid, write_date, email_add_signature)
                SELECT 'res.partner', partner_id, 'comment', %(note_subtype)s, %(note_author)s, %(note_from)s,
                       %(note_from)s, name,
                       CASE channel
                           WHEN 'email' THEN '<p>Reminder e-mail queued: ' || {subject_text} || ' ('
                                             || {callback_text} || ').</p>'
                           ELSE '<p>SMS reminder queued to ' || {mobile_text} || ' (' || {callback_text} || ').</p>'
                       END,
                       '<' || md5(random()::text) || '-openerp-message-notify@bench>', now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC', TRUE
                  FROM due
            )
            UPDATE auto_crm_callback c
               SET reminder_state = 'sent', reminder_note = NULL, reminder_date = now() at time zone 'UTC',
                   write_date = now() at time zone 'UTC', write_uid = %(uid)s
              FROM due WHERE due.id = c.id
            """.format(
                name_text=esc_text.format("due.name"),
                name_html=esc_html.format("due.name"),
                mobile_text=esc_text.format("due.mobile"),
                sms_text=esc_text.format("(%(sms_pre)s || due.name || %(sms_post)s)"),
                subject_text=esc_text.format("%(subject)s::text"),
                callback_text=esc_text.format("due.callback"),
            ),
            **{key: value for key, value in state.items() if key != "note_from"},
            note_from=state["note_from"],
        )
    )


def cases(env):
    return [
        {
            "name": "reminders: queue e-mail and SMS",
            "prepare": prepare,
            "run": run,
            "floor": floor,
            # The issue: within 3x of a raw SQL insert of the same queue rows, measured in the same run.
            "target": 3.0,
            "rollback": True,
            "n": N,
        }
    ]
