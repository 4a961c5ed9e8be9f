"""An AI paper-trading agent for crypto perpetual futures. Nothing is ever sent to a real exchange."""

__version__ = "0.1.0"
