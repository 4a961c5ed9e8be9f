"""The risk manager: position sizing, limits, circuit breakers, VaR/CVaR and the risk score.

Imports only the domain (and numpy): limits are plain frozen dataclasses that the wiring layer
builds from ``config/trading_rules.yaml``.
"""
