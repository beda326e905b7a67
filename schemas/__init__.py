"""Avro schemas (``*.avsc``) of purposegate's topics; loaded by ``wire``."""
