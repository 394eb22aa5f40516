"""Send: record activities with their deliveries (transactional outbox), fan out, sign, deliver, retry."""
