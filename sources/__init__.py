"""What enters Kafka: the producer helper, the one-click unsubscribe endpoint, the suppression import."""
