"""``python -m trading_agent`` runs the ``trading-agent`` command."""

from trading_agent.cli import main

main()
