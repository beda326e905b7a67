"""The Kafka and Faust edge: clients, topic admin, the Faust app, consumer lag, metrics."""
