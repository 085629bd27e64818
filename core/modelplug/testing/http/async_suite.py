"""The async twins of the HTTP provider suites: a provider's ``agenerate_stream`` against the same
real servers on 127.0.0.1, checked against its own sync ``generate_stream`` on the same wire.

A plugin whose provider declares ``async_streaming`` subclasses :class:`AsyncHttpProviderSuite` and
:class:`AsyncHTTPFaultSuite` with the same ``load`` as its sync suites. Every check calls the hooks
through :class:`~modelplug._provider.Provider` (what the core's ``Model.astream`` calls): the deltas
and the error (class, status, message) of the async path must equal the sync path's, and closing or
cancelling an async stream must close the HTTP response (the server sees the disconnect). A few
checks go through ``Model.astream`` itself (aggregate, error, cancellation) on top of the hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from modelplug import errors
from modelplug._model import Model
from modelplug.testing.fault_server import HUGE_LENGTH, PREFIX, FaultServer
from modelplug.testing.faults import EXPECTED, FaultModels
from modelplug.testing.http.processes import ReplayServer, free_port
from modelplug.testing.http.suite import BEHAVIOUR_STREAMS, STREAM_CASES, VARIANTS, unique
from modelplug.types import ChatMessageStreamDelta

__all__ = ["AsyncHTTPFaultSuite", "AsyncHttpProviderSuite", "async_deltas", "sync_deltas"]

#: Seconds any single async check may take before it counts as a hang.
HANG: float = 30.0
Outcome = tuple[list[ChatMessageStreamDelta], BaseException | None]


def _hook_arguments(model: Model, prompt: Any, options: dict[str, Any]) -> tuple[Any, ...]:
    messages, generation = model._prepare(prompt, options)
    return model.model_id, model.state, messages, model._backend_options(generation)


def sync_deltas(model: Model, prompt: Any = "Hi.", **options: Any) -> Outcome:
    """The deltas of ``model``'s ``generate_stream`` hook until its end or its error, and that error."""
    received: list[ChatMessageStreamDelta] = []
    stream = model.contract.generate_stream(*_hook_arguments(model, prompt, options))
    try:
        for delta in stream:
            received.append(delta)
    except errors.ModelplugError as error:
        return received, error
    finally:
        getattr(stream, "close", lambda: None)()
    return received, None


def async_stream(model: Model, prompt: Any = "Hi.", **options: Any) -> AsyncIterator[ChatMessageStreamDelta]:
    """``model``'s ``agenerate_stream`` hook, checked for its declaration."""
    assert model.capabilities.async_streaming, f"{model.spec} does not declare async_streaming"
    return model.contract.agenerate_stream(*_hook_arguments(model, prompt, options))


async def async_deltas(model: Model, prompt: Any = "Hi.", **options: Any) -> Outcome:
    """The deltas of ``model``'s ``agenerate_stream`` hook until its end or its error, and that error."""
    received: list[ChatMessageStreamDelta] = []
    stream = async_stream(model, prompt, **options)
    try:
        async for delta in stream:
            received.append(delta)
    except errors.ModelplugError as error:
        return received, error
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return received, None


def run(coroutine: Any) -> Any:
    """Run ``coroutine`` on a fresh event loop, failing it as a hang after :data:`HANG` seconds."""
    return asyncio.run(asyncio.wait_for(coroutine, HANG))


def _same_error(got: BaseException | None, want: BaseException | None) -> None:
    if want is None:
        assert got is None, f"the async path failed where the sync path did not: {got!r}"
        return
    assert got is not None, f"the async path did not fail where the sync path did: {want!r}"
    assert type(got) is type(want), (got, want)
    if getattr(want, "status_code", None) is not None:  # the server's message (a transport's wording may differ)
        assert str(got) == str(want)
    for field in ("status_code", "provider", "retry_after"):
        assert getattr(got, field, None) == getattr(want, field, None), field


def _equal_paths(model: Model, prompt: Any = "Hi.", **options: Any) -> Outcome:
    want, want_error = sync_deltas(model, prompt, **options)
    got, got_error = run(async_deltas(model, prompt, **options))
    _same_error(got_error, want_error)
    assert got == want
    return got, got_error


class AsyncHttpProviderSuite:
    """The async checks over the replay server; subclass it and define :meth:`load` as for
    :class:`~modelplug.testing.http.suite.HttpProviderSuite`."""

    provider: ClassVar[str]
    api_key: ClassVar[str] = "sk-modelplug-test-key-0000"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        raise NotImplementedError

    def replay(self, server: ReplayServer, selector: str, **options: Any) -> Model:
        options.setdefault("retry_backoff", 0.01)
        return self.load(server.url(selector), **options)

    def test_async_streaming_is_declared(self, replay_server: ReplayServer) -> None:
        model = self.replay(replay_server, "text/1")
        assert model.capabilities.async_streaming and model.contract.implements("agenerate_stream")

    @pytest.mark.parametrize("variant", sorted(VARIANTS))
    @pytest.mark.parametrize("case_id", sorted(STREAM_CASES))
    def test_fixture_stream_deltas_equal_the_sync_path(
        self, replay_server: ReplayServer, case_id: str, variant: str
    ) -> None:
        modifiers = VARIANTS[variant]
        model = self.replay(replay_server, f"case/{case_id}" + (f"@{modifiers}" if modifiers else ""), max_retries=0)
        deltas, _ = _equal_paths(model, "Replay the recorded stream.")
        assert deltas, "no deltas"

    @pytest.mark.parametrize("case_id", BEHAVIOUR_STREAMS)
    def test_behaviour_stream_deltas_equal_the_sync_path(self, replay_server: ReplayServer, case_id: str) -> None:
        _equal_paths(self.replay(replay_server, f"behaviour/{case_id}", max_retries=0), "Replay it.")

    @pytest.mark.parametrize(
        "selector",
        ["error/400", "error/422", "error/context_length", "error/content_filter", "error/500", "error/429", "empty"],
    )
    def test_error_statuses_equal_the_sync_path(self, replay_server: ReplayServer, selector: str) -> None:
        deltas, error = _equal_paths(self.replay(replay_server, unique(selector), max_retries=0))
        assert isinstance(error, errors.ProviderError) and deltas == []

    def test_retries_before_the_first_delta_only(self, replay_server: ReplayServer) -> None:
        recovered = unique("text/3@fail=500x1")
        deltas, error = run(async_deltas(self.replay(replay_server, recovered, max_retries=2)))
        assert error is None and "".join(d.content or "" for d in deltas) == " t00 t01 t02"
        assert [r["outcome"] for r in replay_server.requests(recovered)] == ["status 500", "complete"]
        dropped = unique("case/vllm-002-reasoning-content-deltas@drop=8")
        deltas, error = run(async_deltas(self.replay(replay_server, dropped, max_retries=3), "What is 2+2?"))
        assert isinstance(error, errors.ProviderConnectionError) and error.provider == self.provider
        assert "".join(d.content or "" for d in deltas) == "\n\n2 + 2"
        assert len(replay_server.requests(dropped)) == 1, "retried after deltas had reached the caller"
        event = unique("text/5@error_event=2")
        deltas, error = run(async_deltas(self.replay(replay_server, event, max_retries=3)))
        assert isinstance(error, errors.ServerError) and "crashed" in str(error)
        assert "".join(d.content or "" for d in deltas) == " t00 t01"
        assert len(replay_server.requests(event)) == 1

    def test_a_client_timeout_and_a_refused_connection_are_typed(self, replay_server: ReplayServer) -> None:
        slow = self.replay(replay_server, unique("text/3@wait=5"), timeout=0.5, max_retries=0)
        assert isinstance(run(async_deltas(slow))[1], errors.ProviderTimeoutError)
        refused = self.load(f"http://127.0.0.1:{free_port()}/v1", max_retries=1, retry_backoff=0.01)
        assert isinstance(run(async_deltas(refused))[1], errors.ProviderConnectionError)

    def test_aclose_closes_the_http_response(self, replay_server: ReplayServer) -> None:
        selector = unique("text/3000@delay=0.005")
        model = self.replay(replay_server, selector)

        async def two_then_close() -> list[ChatMessageStreamDelta]:
            stream = async_stream(model, "Count.")
            received = [await stream.__anext__() for _ in range(2)]
            await stream.aclose()  # type: ignore[attr-defined]
            return received

        received = run(two_then_close())
        assert "".join(d.content or "" for d in received) == " t00 t01"
        record = replay_server.wait_outcome(selector)
        assert record["outcome"] == "disconnected" and record["events_sent"] < 3000

    def test_cancelling_the_task_closes_the_http_response(self, replay_server: ReplayServer) -> None:
        selector = unique("text/3000@delay=0.005")
        model = self.replay(replay_server, selector)
        received: list[ChatMessageStreamDelta] = []

        async def consume() -> None:
            async for delta in async_stream(model, "Count."):
                received.append(delta)

        async def cancel_after_three() -> bool:
            task = asyncio.create_task(consume())
            while len(received) < 3:
                await asyncio.sleep(0.001)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return True
            return False

        assert run(cancel_after_three()), "CancelledError did not propagate"
        record = replay_server.wait_outcome(selector)
        assert record["outcome"] == "disconnected" and record["events_sent"] < 3000

    def test_a_timeout_around_a_stalled_stream_ends_it_at_once(self, replay_server: ReplayServer) -> None:
        selector = unique("text/3@wait=20")
        model = self.replay(replay_server, selector, timeout=600, max_retries=0)

        async def bounded() -> float:
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(async_deltas(model), 0.3)
            return loop.time() - start

        assert run(bounded()) < 5.0  # the server, asleep before its headers, sees the disconnect only later

    def test_many_concurrent_streams_on_one_loop_all_arrive_whole(self, replay_server: ReplayServer) -> None:
        model = self.replay(replay_server, unique("text/20"))
        want = sync_deltas(model)

        async def many() -> list[Outcome]:
            return await asyncio.gather(*(async_deltas(model) for _ in range(64)))

        assert all(outcome == want for outcome in run(many()))

    @pytest.mark.parametrize("case_id", sorted(STREAM_CASES))
    def test_model_astream_aggregates_as_model_stream(self, replay_server: ReplayServer, case_id: str) -> None:
        model = self.replay(replay_server, f"case/{case_id}@split=7,comments", max_retries=0)
        with model.stream("Replay the recorded stream.") as stream:
            want = list(stream)

        async def through_astream() -> tuple[list[ChatMessageStreamDelta], Any]:
            async with model.astream("Replay the recorded stream.") as astream:
                got = [delta async for delta in astream]
            return got, astream

        got, astream = run(through_astream())
        assert got == want
        assert _without_minted_ids(astream.message) == _without_minted_ids(stream.message)
        assert (astream.outcome, astream.finish_reason) == (stream.outcome, stream.finish_reason)

    def test_model_astream_keeps_what_arrived_before_an_error(self, replay_server: ReplayServer) -> None:
        model = self.replay(replay_server, unique("case/vllm-002-reasoning-content-deltas@drop=8"), max_retries=3)

        async def failing() -> Any:
            astream = model.astream("What is 2+2?")
            with pytest.raises(errors.ProviderConnectionError) as caught:
                async for _ in astream:
                    pass
            assert astream.error is caught.value
            return astream

        astream = run(failing())
        assert astream.outcome == "error" and astream.message.content == "\n\n2 + 2"
        assert astream.message.reasoning_content == "Okay, the user asks for 2+2. That is 4."

    def test_model_astream_cancelled_closes_the_http_response(self, replay_server: ReplayServer) -> None:
        selector = unique("text/3000@delay=0.005")
        model = self.replay(replay_server, selector)

        async def cancel_after_three() -> Any:
            astream = model.astream("Count.")
            received = 0

            async def consume() -> None:
                nonlocal received
                async with astream:
                    async for _ in astream:
                        received += 1

            task = asyncio.create_task(consume())
            while received < 3:
                await asyncio.sleep(0.001)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return astream

        astream = run(cancel_after_three())
        assert astream.outcome == "cancelled" and (astream.message.content or "").startswith(" t00 t01 t02")
        record = replay_server.wait_outcome(selector)
        assert record["outcome"] == "disconnected" and record["events_sent"] < 3000

    def test_the_async_client_survives_a_new_event_loop(self, replay_server: ReplayServer) -> None:
        model = self.replay(replay_server, unique("text/2"))
        assert run(async_deltas(model)) == run(async_deltas(model)) == sync_deltas(model)
        model.close()


def _without_minted_ids(message: Any) -> Any:
    """``message`` with tool-call ids left out: the core mints one per call when the server sent none."""
    return (message.content, message.reasoning_content, message.finish_reason, message.usage,
            [(c.name, c.arguments, c.raw_arguments) for c in message.tool_calls])  # fmt: skip


class AsyncHTTPFaultSuite(FaultModels):
    """The fault suite (:mod:`modelplug.testing.faults`) through ``agenerate_stream``: each fault
    gives the same error class as the sync path, keeps what arrived, never hangs. ``load`` (or
    ``spec``) as for :class:`~modelplug.testing.faults.HTTPFaultSuite`."""

    @pytest.mark.parametrize("fault", sorted(EXPECTED))
    def test_async_fault_gives_the_typed_error_and_keeps_what_arrived(
        self, fault_server: FaultServer, fault: str
    ) -> None:
        model = self._model(fault_server, fault)
        try:
            deltas, error = run(async_deltas(model))
            content = "".join(d.content or "" for d in deltas)
            expected = EXPECTED[fault]
            if expected is None:
                assert error is None
                assert content == (PREFIX + "x" * HUGE_LENGTH if fault == "huge-line" else PREFIX + " world")
                return
            assert type(error) is expected, error
            if content:
                assert content == PREFIX
            _same_error(error, sync_deltas(model)[1])
        finally:
            model.close()

    @pytest.mark.parametrize("fault", ["drop", "error-object", "malformed-json", "stall-mid-stream"])
    def test_model_astream_fault_keeps_what_arrived(self, fault_server: FaultServer, fault: str) -> None:
        model = self._model(fault_server, fault)

        async def through_astream() -> Any:
            astream = model.astream("Hi.")
            with pytest.raises(errors.ProviderError) as caught:
                async with astream:
                    async for _ in astream:
                        pass
            assert type(caught.value) is EXPECTED[fault]
            return astream

        try:
            astream = run(through_astream())
            assert astream.outcome == "error" and astream.message.content == PREFIX
        finally:
            model.close()

    def test_async_endless_stream_stops_on_aclose(self, fault_server: FaultServer) -> None:
        model = self._model(fault_server, "endless")

        async def twenty() -> str:
            stream = async_stream(model)
            text = ""
            async for count, delta in _enumerate(stream):
                text += delta.content or ""
                if count == 20:
                    break
            await stream.aclose()  # type: ignore[attr-defined]
            return text

        try:
            assert run(twenty()).startswith(PREFIX + " more")
        finally:
            model.close()

    def test_async_cancel_ends_a_stalled_read(self, fault_server: FaultServer) -> None:
        model = self._model(fault_server, "stall-mid-stream", read_timeout=600.0)
        received: list[ChatMessageStreamDelta] = []

        async def consume() -> None:
            async for delta in async_stream(model):
                received.append(delta)

        async def cancel_when_stalled() -> None:
            task = asyncio.create_task(consume())
            while not received:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.1)  # now blocked on the stalled read
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        try:
            run(cancel_when_stalled())
            assert [d.content for d in received if d.content] == [PREFIX]
        finally:
            model.close()


async def _enumerate(
    stream: AsyncIterator[ChatMessageStreamDelta],
) -> AsyncIterator[tuple[int, ChatMessageStreamDelta]]:
    count = 0
    async for item in stream:
        yield count, item
        count += 1
