"""The HTTP fault suite: one set of checks every HTTP provider runs against
:class:`~modelplug.testing.fault_server.FaultServer`.

A provider's tests subclass :class:`HTTPFaultSuite` and set ``spec`` and ``model_options`` (or
define ``load``). Each fault must give the error class in :data:`EXPECTED`, end by the provider's
own timeout, and keep in ``.message`` what arrived before it. Guide: ``docs/writing-a-plugin.md``
("The HTTP fault suite").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from modelplug import errors
from modelplug._load import load_model
from modelplug._model import Model
from modelplug.testing.fault_server import HUGE_LENGTH, PREFIX, FaultServer

__all__ = ["EXPECTED", "FaultModels", "HTTPFaultSuite"]

#: The error each fault gives (``None``: the stream ends normally).
EXPECTED: dict[str, type[errors.ModelplugError] | None] = {
    "ok": None,
    "huge-line": None,
    "stall-before-headers": errors.ProviderTimeoutError,
    "stall-mid-stream": errors.ProviderTimeoutError,
    "drop": errors.ProviderConnectionError,
    "malformed-json": errors.ServerError,
    "invalid-utf8": errors.ServerError,
    "error-object": errors.ServerError,
    "rate-limit": errors.RateLimitError,
    "unavailable": errors.ServerError,
}
#: ``retry_after`` (seconds) the server sends with these faults.
_RETRY_AFTER = {"rate-limit": 7.0, "unavailable": 3.0}
#: Faults whose stream sends :data:`~modelplug.testing.fault_server.PREFIX` before failing.
_AFTER_PREFIX = frozenset({"stall-mid-stream", "drop", "malformed-json", "invalid-utf8", "error-object"})


class FaultModels:
    """What both fault suites (this one and the async one) need: the fault server, one per test
    class, and a model loaded against it. Define :meth:`load`, or set :attr:`spec` (and
    :attr:`url_option`, :attr:`model_options`) to use the default one.

    Attributes:
        read_timeout: the read timeout (seconds) the checks give :meth:`load`; short, so that a stall
            ends quickly through the provider's own timeout.
        xfail_faults: fault name -> reason, for faults a provider cannot meet (said in its docs).
        spec: the model spec with ``{fault}`` where the fault goes (``"myprovider:{fault}"``).
        url_option: the model option that takes the server's base URL (``base_url``, ``api_base``).
        model_options: other model options (an ``api_key``, ...).
    """

    read_timeout: ClassVar[float] = 1.0
    xfail_faults: ClassVar[dict[str, str]] = {}
    spec: ClassVar[str] = ""
    url_option: ClassVar[str] = "base_url"
    model_options: ClassVar[dict[str, Any]] = {}

    def load(self, base_url: str, fault: str, *, read_timeout: float) -> Model:
        """The model to test: requests go to ``base_url`` with ``fault`` as the model name, a read
        timeout of ``read_timeout`` seconds and no retries (by default: :attr:`spec` loaded with
        ``timeout=read_timeout``, ``max_retries=0`` and :attr:`model_options`)."""
        if not self.spec:
            raise NotImplementedError("set spec (and url_option, model_options) or define load")
        options = {self.url_option: base_url, "timeout": read_timeout, "max_retries": 0, **self.model_options}
        return load_model(self.spec.format(fault=fault), **options)

    @pytest.fixture(scope="class")
    @classmethod
    def fault_server(cls) -> Iterator[FaultServer]:
        """The fault server, one per test class."""
        with FaultServer() as server:
            yield server

    def _model(self, server: FaultServer, fault: str, read_timeout: float | None = None) -> Model:
        if fault in self.xfail_faults:
            pytest.xfail(self.xfail_faults[fault])
        return self.load(server.base_url, fault, read_timeout=read_timeout or self.read_timeout)


class HTTPFaultSuite(FaultModels):
    """Checks for an HTTP provider under wire faults; subclass it and define :meth:`load` (or set
    ``spec``, see :class:`FaultModels`).
    """

    @pytest.mark.parametrize("fault", sorted(EXPECTED))
    def test_fault_gives_its_typed_error_and_keeps_what_arrived(self, fault_server: FaultServer, fault: str) -> None:
        model = self._model(fault_server, fault)
        try:
            stream = model.stream("Hi.")
            expected = EXPECTED[fault]
            if expected is None:
                for _ in stream:
                    pass
                content = stream.message.content or ""
                assert stream.outcome == "ok"
                if fault == "huge-line":
                    assert content == PREFIX + "x" * HUGE_LENGTH
                else:
                    assert content == PREFIX + " world" and stream.finish_reason == "stop"
                return
            with pytest.raises(expected) as caught:
                for _ in stream:
                    pass
            error: Any = caught.value
            assert stream.outcome == "error"
            if fault in _AFTER_PREFIX:
                assert stream.message.content == PREFIX, "the text that arrived before the fault was lost"
            if fault in _RETRY_AFTER:
                assert error.retry_after == _RETRY_AFTER[fault]
            if fault == "error-object":
                assert "overloaded" in str(error)
        finally:
            model.close()

    def test_endless_stream_stops_when_closed(self, fault_server: FaultServer) -> None:
        model = self._model(fault_server, "endless")
        try:
            stream = model.stream("Hi.")
            for count, _ in enumerate(stream):
                if count == 20:
                    stream.close()
            assert stream.outcome == "cancelled"
            assert str(stream.message.content).startswith(PREFIX + " more")
        finally:
            model.close()

    def test_close_from_another_thread_unblocks_a_stalled_read(self, fault_server: FaultServer) -> None:
        # a long read timeout: only close() can end this read before the test's own timeout
        model = self._model(fault_server, "stall-mid-stream", read_timeout=600.0)
        try:
            stream = model.stream("Hi.")
            first = next(stream)
            assert first.content == PREFIX
            blocked = threading.Event()

            def close() -> None:
                blocked.wait()
                stream.close()

            closer = threading.Thread(target=close)
            closer.start()
            blocked.set()  # close() may come before or while the next read blocks: both must end it
            rest = list(stream)
            closer.join()
            assert rest == [] and stream.outcome == "cancelled" and stream.message.content == PREFIX
        finally:
            model.close()

    def test_closing_the_model_ends_a_stream_another_thread_reads(self, fault_server: FaultServer) -> None:
        model = self._model(fault_server, "stall-mid-stream", read_timeout=600.0)
        stream = model.stream("Hi.")
        try:
            assert next(stream).content == PREFIX
            rest: list[object] = []
            reader = threading.Thread(target=lambda: rest.extend(stream), daemon=True)
            reader.start()
            reader.join(0.2)  # the reader is blocked on the stalled read
            model.close()
            reader.join(10)
            assert not reader.is_alive(), "Model.close() left a stream reading a stalled response"
            assert rest == [] and stream.outcome == "cancelled" and stream.message.content == PREFIX
        finally:
            stream.close()
            model.close()

    def test_a_request_that_cannot_be_sent_fails_at_once_without_sending(self, fault_server: FaultServer) -> None:
        model = self._model(fault_server, "ok")
        try:
            before = len(fault_server.requests)
            with pytest.raises(errors.InvalidOptionError, match="JSON"):
                list(model.stream("Hi.", logit_bias={"1": float("nan")}))
            assert len(fault_server.requests) == before, "a request that cannot be encoded was sent (or retried)"
        finally:
            model.close()
