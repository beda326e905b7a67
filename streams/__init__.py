"""Everything around the pure policy layer, in layers that only point down: ``settings`` (the one
settings object), ``wire`` (Avro, headers, dead letters, file forms), ``kafka`` (the Kafka and
Faust edge), ``tools`` and ``cli`` (the commands). See docs/design.md."""
