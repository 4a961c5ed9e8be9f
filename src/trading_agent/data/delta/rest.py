"""Public REST client for Delta Exchange India: products, tickers and candle history.

ccxt carries the requests (see ``transport.py``); parsing is hand-written (``products.py``,
``candles.py``). Candles come from ccxt's raw ``/v2/history/candles`` endpoint, not from
``fetch_ohlcv``: that one needs ``load_markets`` and ccxt's unified symbols, takes its own window of
2000 bars from ``since``, cannot ask for ``MARK:BTCUSD`` directly and still maps the 7d/2w/30d
resolutions Delta removed. The raw call takes Delta's symbol as is, so ``MARK:BTCUSD`` works like
``BTCUSD``, and the windows are ours.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from trading_agent.config import DeltaSettings
from trading_agent.data.delta.candles import candle_frame, candle_windows, resolution_for
from trading_agent.data.delta.products import DeltaProduct, DeltaTicker, parse_product, parse_ticker
from trading_agent.data.delta.transport import DeltaClient, DeltaTransport, RetryPolicy
from trading_agent.domain import Timeframe

__all__ = ["DeltaRestClient", "ProgressCallback"]

ProgressCallback = Callable[[int, int], None]
"""Called after each page of candles with ``(pages_done, pages_total)``."""


class DeltaRestClient(DeltaClient):
    """Public market data from the configured Delta host. Use as ``async with DeltaRestClient(s) as c:``."""

    def __init__(self, settings: DeltaSettings, *, retry: RetryPolicy | None = None) -> None:
        self._transport = DeltaTransport(settings, retry=retry)

    async def fetch_products(self) -> list[DeltaProduct]:
        """Every live perpetual futures product (all pages)."""
        rows = await self._transport.get_all("products", {"contract_types": "perpetual_futures", "states": "live"})
        return [parse_product(row) for row in rows]

    async def fetch_product(self, symbol: str) -> DeltaProduct:
        """One product by symbol (``BTCUSD``)."""
        reply = await self._transport.get("products/{symbol}", {"symbol": symbol})
        return parse_product(reply.result)

    async def fetch_ticker(self, symbol: str) -> DeltaTicker:
        """The ticker of ``symbol``: mark price, last price, funding rate (as a fraction per 8 h)."""
        reply = await self._transport.get("tickers/{symbol}", {"symbol": symbol})
        return parse_ticker(reply.result)

    async def fetch_candles(
        self,
        symbol: str,
        timeframe: Timeframe,
        start_ms: int,
        end_ms: int,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """Candles of ``symbol`` (``BTCUSD``, ``MARK:BTCUSD``) with open times in ``[start_ms, end_ms)``.

        Requests at most 2000 bars at a time; the result is sorted and free of duplicates. The last
        candle may still be open when ``end_ms`` is in the future. 3d raises: resample 1d instead.
        """
        if start_ms > end_ms:
            raise ValueError(f"start_ms {start_ms} is after end_ms {end_ms}")
        resolution = resolution_for(timeframe)
        windows = candle_windows(timeframe, start_ms, end_ms)
        rows: list[object] = []
        for done, (start_s, end_s) in enumerate(windows, start=1):
            params = {"resolution": resolution, "symbol": symbol, "start": start_s, "end": end_s}
            page, _ = await self._transport.get_list("history/candles", params)
            rows.extend(page)
            if on_progress is not None:
                on_progress(done, len(windows))
        return candle_frame(rows, start_ms, end_ms)
