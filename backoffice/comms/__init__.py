"""Messages: e-mail over SMTP and SMS over a Twilio-shaped HTTP provider, from Jinja templates
per brand and language, through one outbox.

Other areas send with :func:`backoffice.comms.outbox.enqueue` (in their own transaction) and
nothing else. ``message_templates`` (the brand's own templates over the built-in files in
``templates/``), ``outbox`` (enqueue, claim, mark, forward-only state), ``delivery`` (the
worker's job; the at-least-once choice), ``mail`` / ``sms`` (the transports), ``sms_status``
(the provider's signed delivery reports), ``smtp_sink`` / ``sms_simulator`` (the local
stand-ins ``brokerstack up`` starts), ``rules`` (the pure rules).
"""
