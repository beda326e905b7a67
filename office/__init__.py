"""The privacy office's reckonings and their forms: pure (no broker, no network).

A subject's disclosure (``office.disclosure``), the record of processing, breach sizing,
erasure lists, the policy history and the decision diff of two policies, linkage, the forms of
``test-policy`` and the words of ``explain``."""
