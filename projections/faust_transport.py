"""A Faust transport whose group consumer waits for data as long as our setting says.

faust-streaming builds its worker consumer with a fixed `fetch_max_wait_ms=1500`; a broker
that honours the wait in full (Tansu does) then holds every idle fetch for 1.5 s, and events
reach the read models up to that much later. This transport is the aiokafka one with that
single value taken from the app's settings (`consumer_fetch_max_wait_ms`). It is registered
under Faust's `faust.transports` entry point as `itinera` (pyproject.toml), so the worker's
broker URL `itinera://host:port` selects it; nothing in Faust is patched.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as driver
from faust.types.settings import params, sections


class ProjectorSettings(faust.Settings):
    @sections.Consumer.setting(params.UnsignedInt, version_introduced="itinera", default=1500)
    def consumer_fetch_max_wait_ms(self) -> int:  # type: ignore[empty-body]
        """How long the broker may hold a fetch that finds no data (milliseconds)."""


class ProjectorApp(faust.App):
    Settings = ProjectorSettings


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait = int(getattr(self.app.conf, "consumer_fetch_max_wait_ms", 1500))
        # aiokafka keeps the constructor's value here until start() builds its fetcher, which
        # Faust calls right after this method returns.
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError(
                "this aiokafka does not keep _fetch_max_wait_ms; update the transport"
            )
        consumer._fetch_max_wait_ms = wait
        return consumer


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = Consumer
