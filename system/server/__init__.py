"""The server core: the sequencer that owns the runtime, session routing, and subscriptions."""
