"""Running the simulator: blocking for the CLI, or on a background thread for tests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from connectors.simulator import graph_traffic
from connectors.simulator.app import create_app
from connectors.simulator.state import SimState

# The demo's brand and Page: fixed ids, handles and token, so a demo database can be set up once.
DEMO_BRAND_ID = "1500000000000000001"
DEMO_BRAND_USERNAME = "acme_support"
DEMO_PAGE_ID = "104000000000001"
DEMO_PAGE_NAME = "Acme"
DEMO_PAGE_USERNAME = "acmesupport"
DEMO_PAGE_TOKEN = "EAAsimDemoPageToken0000000000000001"


def demo_state(seed: int = 1, *, count: int = 60, dm_share: float = 0.25,
               spread_seconds: float = 3 * 3600, facebook_count: int = 40) -> SimState:
    """A simulator with the demo brand and Page and a few hours of customer traffic behind them.

    The brand's credentials: `state.brands[DEMO_BRAND_ID].credentials()` or GET /_sim/brands;
    the Page's: `state.facebook.pages[DEMO_PAGE_ID].credentials()` (DEMO_PAGE_TOKEN) or
    GET /_sim/pages.
    """
    state = SimState(seed)
    state.add_brand(DEMO_BRAND_ID, DEMO_BRAND_USERNAME, name="Acme Support")
    state.generate_traffic(DEMO_BRAND_ID, count, dm_share=dm_share, spread_seconds=spread_seconds)
    # After the X traffic, so the X demo draws the same people and words as before.
    state.facebook.add_page(DEMO_PAGE_ID, DEMO_PAGE_NAME, DEMO_PAGE_USERNAME, DEMO_PAGE_TOKEN)
    graph_traffic.generate(state.facebook, DEMO_PAGE_ID, facebook_count, messenger_share=0.35,
                           page_reply_share=0.15, spread_seconds=spread_seconds)
    return state


def run(host: str = "127.0.0.1", port: int = 8081, seed: int = 1,
        state: SimState | None = None) -> None:
    """Serve until interrupted (Ctrl-C); without `state`, the demo brand, Page and traffic."""
    uvicorn.run(create_app(state or demo_state(seed)), host=host, port=port, log_level="warning")


class _NotFromSimulator(logging.Filter):
    """uvicorn decides per connection whether to log access by asking the process-wide
    "uvicorn.access" logger for handlers. Once the app's own server (the demo) has set
    that logger up, the simulator's requests were logged too, access tokens included."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The thread itself, not record.threadName (None when logging.logThreads is off).
        return not threading.current_thread().name.startswith(THREAD_PREFIX)


THREAD_PREFIX = "simulator-"
_QUIET = _NotFromSimulator()


class SimulatorThread:
    """The simulator on a free 127.0.0.1 port in a daemon thread; a context manager.

    with SimulatorThread() as sim:
        brand = sim.state.add_brand("42", "acme")
        TwitterConnector(credentials=brand.credentials(), api_base_url=sim.base_url)
    """

    def __init__(self, state: SimState | None = None, *, seed: int = 1,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state or SimState(seed)
        self.app = create_app(self.state)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Binding here, before the thread starts, means the port is ours: no race for it.
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        # log_config=None: uvicorn would otherwise reset the process's logging (the
        # app's own access log included) when a simulator starts after the app.
        config = uvicorn.Config(self.app, log_config=None, log_level=None, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.access").addFilter(_QUIET)  # once: same filter object
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True,
            name=f"{THREAD_PREFIX}{self.port}",
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SimulatorThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
