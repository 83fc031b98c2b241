"""The audit trail: writing records (:mod:`.trail`), verifying the chain and exporting one
client's trail (:mod:`.verify`, :mod:`.export`), reading it for staff (:mod:`.query`) and
retention of expired records (:mod:`.retention`)."""

from backoffice.audit.trail import Actor, ActorType, record

__all__ = ["Actor", "ActorType", "record"]
