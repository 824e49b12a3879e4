"""Shipped venue profiles (TOML), loaded by ``sim.clock.venue_calendar``."""
