"""Callbacks to the caller: signing and delivering outbox events, and the network guard."""
