"""aigateway: one endpoint, one key and one bill for every model."""

__version__ = "0.1.0"
