"""The REST and streaming gateway (``chronex serve --rest-port N``): see docs/rest.md."""

from system.gateways.rest.gateway import RestGateway
from system.gateways.rest.keys import ApiKey, KeyRing, KeysFileError, Role, load_keys

__all__ = ["ApiKey", "KeyRing", "KeysFileError", "RestGateway", "Role", "load_keys"]
