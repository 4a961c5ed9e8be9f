"""The locust user of ``bench_api``: one route of the API, at a constant rate per user, with the bearer token.

``bench_api`` runs it headless in a process of its own (``locust -f benchmarks/locust_api.py``) and
says what to call through the environment: ``BENCH_API_METHOD`` and ``BENCH_API_PATH``, an
optional JSON body in ``BENCH_API_BODY``, the token in ``BENCH_API_TOKEN`` (none: no header) and
each user's rate in ``BENCH_API_USER_RPS`` (requests/s, ``constant_throughput``). Any answer but
200 is a failure. Kept free of ``trading_agent`` imports: locust patches the process with gevent.

Locust starts a second's worth of users at once (``--spawn-rate`` of them per dispatch), and
``constant_throughput`` paces each user from the moment it was created, so every user would fire
in the same instant of each period: bursts of all the users, each waiting for the others (20
users at 200/s: a median of about 11 ms instead of 2.5). Each user therefore first sleeps a
random fraction of its period and restarts the pacing from there, which spreads the arrivals
evenly over the period, as independent clients would.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

import gevent
from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

__all__ = ["ApiUser"]


def _body() -> Any:
    text = os.environ.get("BENCH_API_BODY")
    return None if not text else json.loads(text)


class ApiUser(FastHttpUser):
    """Calls ``BENCH_API_METHOD BENCH_API_PATH`` at ``BENCH_API_USER_RPS`` requests/s over one keep-alive connection."""

    rate = float(os.environ.get("BENCH_API_USER_RPS", "10"))
    wait_time = constant_throughput(rate)
    method = os.environ.get("BENCH_API_METHOD", "GET")
    path = os.environ.get("BENCH_API_PATH", "/health")
    body = _body()
    token = os.environ.get("BENCH_API_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def on_start(self) -> None:
        """Start at a random phase of the period (see the module docstring)."""
        gevent.sleep(random.uniform(0.0, 1.0 / self.rate))
        # constant_throughput (constant_pacing) counts from this attribute, set when the user was created:
        # without the reset, the sleep above would be taken off the first wait and the phase lost.
        self._cp_last_run = time.perf_counter()

    @task
    def call(self) -> None:
        """One request; anything but 200 counts as a failure, with its status and the start of its body."""
        with self.client.request(
            self.method, self.path, name=self.path, json=self.body, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:80]}")
