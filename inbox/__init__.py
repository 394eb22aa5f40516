"""Receive: signatures, keys, trust rules, dedupe and dispatch to the handlers an actor kind registers."""
