"""Simulated market participants, each a simpy process on the virtual clock."""

from sim.markets.agents.base import Agent
from sim.markets.agents.directional import InformedTrader, MomentumTrader
from sim.markets.agents.maker import MarketMaker
from sim.markets.agents.noise import NoiseTrader

__all__ = ["Agent", "InformedTrader", "MarketMaker", "MomentumTrader", "NoiseTrader"]
