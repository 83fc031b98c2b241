"""AML: sanctions and PEP lists and screening, the compliance case queue, client risk.

- :mod:`~backoffice.aml.sanctions` loads list files (:mod:`~backoffice.aml.lists` reads them);
- :mod:`~backoffice.aml.matching` (pure) scores a client against listed persons;
- :mod:`~backoffice.aml.screening` screens clients, stores the results, blocks on a hit;
- :mod:`~backoffice.aml.cases` is the queue (:mod:`~backoffice.aml.case_states`: its states);
- :mod:`~backoffice.aml.risk` scores clients (:mod:`~backoffice.aml.risk_rules`: the rules)
  and records the due diligence the score drives;
- :mod:`~backoffice.aml.jobs` the worker's jobs.
"""
