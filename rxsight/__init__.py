"""rxsight: integration observability for hospital pharmacy, supply chain and finance."""

__version__ = "0.1.0"
