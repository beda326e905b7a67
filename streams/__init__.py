"""purposegate's Kafka edge: settings, topics, the Faust app, codecs and the CLI."""
