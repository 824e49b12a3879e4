"""Market simulators and venue profiles.

    from sim.markets import load_profile, Simulator, simulated_day
    xtks = load_profile("XTKS")              # instruments, calendar and default flow of a venue
    xtks.instruments                         # tuple[Instrument, ...] for SystemConfig
    day = simulated_day("XTKS", date(2027, 1, 4), instruments=["7203"], seed=1, log="day.db")
    day.run(); day.close()

See docs/simulators.md.
"""

from sim.markets.day import SimulatedDay, simulated_day
from sim.markets.flow import FlowConfig, FlowError
from sim.markets.profile import InstrumentProfile, ProfileError, VenueProfile, load_profile, shipped_profiles
from sim.markets.simulator import Simulator, SimulatorError
from sim.markets.stats import BookSampler, DayStats, InstrumentDay

__all__ = [
    "BookSampler",
    "DayStats",
    "FlowConfig",
    "FlowError",
    "InstrumentDay",
    "InstrumentProfile",
    "ProfileError",
    "SimulatedDay",
    "Simulator",
    "SimulatorError",
    "VenueProfile",
    "load_profile",
    "shipped_profiles",
    "simulated_day",
]
