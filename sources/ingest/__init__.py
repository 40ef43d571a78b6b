"""Webhook ingestion: signed HTTP deliveries from an e-commerce provider and a support desk,
published as `purchase.completed` and `support.message_received` once the broker acknowledged
them (`app`), verified (`signature`), mapped (`mapping`) and built as the worker would read them
(`events`)."""
