"""The one trading engine: order simulation, positions, margin, funding, liquidation, exits.

Imports only the domain and the risk manager. This package holds the engine's pure calculations
first (fills on candles, costs, margin); the stateful engine builds on them.
"""
