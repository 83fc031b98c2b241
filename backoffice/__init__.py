"""The back office: the CRM hub's domain logic, one subpackage per area.

``staff`` (users, roles, permissions, 2FA, sessions), ``brands`` (per-brand rules), ``clients``
(self-service: registration, profile, documents, trading accounts), ``crm`` (leads, tasks,
notes, timeline, retention automations), ``comms`` (mail, SMS, the outbox), ``kyc`` (levels,
applications, the provider and its webhooks, the review queue), ``aml`` (sanctions and PEP
screening, cases, risk score), ``trading`` (admin actions sent to the execution service), and
``audit`` (the hash-chained log, its verification and export, retention).

Pure rules live apart from the code that reads and writes; every service function takes the
connection it works in (the caller owns the transaction), so an api route, a dashboard page, a
pipeline and the worker call the same function. The execution service is reached only through
:mod:`backoffice.commands`.
"""
