"""Leads and CRM: capture from the brand's website (:mod:`.leads`, :mod:`.submission`,
:mod:`.site_keys`), assignment to sales staff (:mod:`.assignment`), stages (:mod:`.stages`),
tasks and notes (:mod:`.tasks`, :mod:`.notes`), one timeline per client (:mod:`.timeline`) and
retention automations (:mod:`.automations`, their triggers in :mod:`.triggers`).

Every function a staff route calls takes the staff member's ``brand_ids``: a lead, task or
client of another brand is not found.
"""
