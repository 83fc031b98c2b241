"""KYC: levels per brand and what they unlock (:mod:`.levels`), applications and their
documents (:mod:`.documents`, :mod:`.applications`), the Sumsub-shaped provider
(:mod:`.provider`, :mod:`.signatures`) and its local simulator (:mod:`.simulator`), the webhook
inbox (:mod:`.intake` stores, :mod:`.processing` applies through the forward-only
:mod:`.states`), and the staff review queue with periodic reviews (:mod:`.review`,
:mod:`.lapses`).
"""
