"""Gateways: adapters that put the system on the wire (FIX now; REST and feeds later).

They sit on top of the server core and the records, and never read engine objects.
"""
