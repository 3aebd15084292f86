"""Platform adapters. This package never imports `app`."""

from connectors.base import Connector, Platform

CONNECTORS: dict[Platform, type[Connector]] = {}
