"""Market-data feeds: ITCH 5.0 over SoupBinTCP 3.0 and MoldUDP64, GLIMPSE snapshots, day files.

See docs/feeds.md. The encoder follows the log (a subscriber of the server's seam); the transports
only frame and send what it made.
"""

from system.gateways.itch.encoder import FeedError, ItchEncoder, locates_for
from system.gateways.itch.feedbook import FeedBook, Print
from system.gateways.itch.messages import BadMessage, decode

__all__ = [
    "BadMessage",
    "FeedBook",
    "FeedError",
    "ItchEncoder",
    "Print",
    "decode",
    "locates_for",
]
