"""The policy as data and the one pure engine that enforces it (no Faust, no Kafka, no I/O).

``loader`` reads ``policy.yaml``; ``engine.compile_policy`` prepares it once; ``validation``
turns input values into events or DLQ entries; ``engine.decide`` / ``apply_state_event`` say
what goes where and why.
"""
