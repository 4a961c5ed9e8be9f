"""Delta Exchange India adapter: public REST, signed REST (testnet orders only) and the live WebSocket feed.

REST runs on ccxt's ``delta`` class pointed at the India host (ccxt signs, encodes, throttles and
owns the HTTP session; errors, 429 retries and all parsing are ours). The WebSocket feed is
hand-written, since ccxt has no Delta WebSocket. Nothing here ever sends an order outside the
India testnet.

Modules: ``transport`` (ccxt glue, errors, retries), ``errors``, ``fields`` (typed JSON access),
``products`` (products, tickers, Instrument conversion), ``candles`` (resolutions, windows, frames),
``rest`` (public client), ``account`` + ``private`` (signed client), ``ws_messages``, ``assembler``
and ``live_feed`` (the WebSocket feed).
"""

from trading_agent.data.delta.account import DeltaBalance, DeltaFill, DeltaOrder, DeltaPosition
from trading_agent.data.delta.assembler import CandleAssembler
from trading_agent.data.delta.candles import MAX_CANDLES_PER_REQUEST, resolution_for
from trading_agent.data.delta.errors import DeltaApiError, LiveOrderRefusedError
from trading_agent.data.delta.live_feed import Backoff, CandleHistory, DeltaLiveFeed
from trading_agent.data.delta.private import PRODUCTION_HOSTS, DeltaPrivateClient
from trading_agent.data.delta.products import (
    VENUE,
    DeltaProduct,
    DeltaTicker,
    instrument_from_product,
    parse_product,
    parse_ticker,
)
from trading_agent.data.delta.rest import DeltaRestClient, ProgressCallback
from trading_agent.data.delta.transport import RetryPolicy

__all__ = [
    "MAX_CANDLES_PER_REQUEST",
    "PRODUCTION_HOSTS",
    "VENUE",
    "Backoff",
    "CandleAssembler",
    "CandleHistory",
    "DeltaApiError",
    "DeltaBalance",
    "DeltaFill",
    "DeltaLiveFeed",
    "DeltaOrder",
    "DeltaPosition",
    "DeltaPrivateClient",
    "DeltaProduct",
    "DeltaRestClient",
    "DeltaTicker",
    "LiveOrderRefusedError",
    "ProgressCallback",
    "RetryPolicy",
    "instrument_from_product",
    "parse_product",
    "parse_ticker",
    "resolution_for",
]
