"""schemahub's registry: the Confluent Schema Registry REST API in Python."""

__version__ = "0.1.0"
