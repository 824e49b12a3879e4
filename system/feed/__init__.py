"""Fan-out of the log to other processes: ``system.feed.nats`` (JetStream, needs the ``nats``
extra) and the subject scheme in ``system.feed.subjects``."""
