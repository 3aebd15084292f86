"""Platform adapters. This package never imports `app`."""

from connectors.base import Connector, Platform
from connectors.facebook import FacebookConnector
from connectors.twitter import TwitterConnector

CONNECTORS: dict[Platform, type[Connector]] = {
    Platform.X: TwitterConnector,
    Platform.FACEBOOK: FacebookConnector,
}
