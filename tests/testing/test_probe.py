"""The probe that watches a provider from the outside (:mod:`modelplug.testing.probe`): the hooks
called, and whether each stream ran to its end or was really closed, on the replay provider and
an in-code provider whose generator will not stop."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

import modelplug
from modelplug import _plugins as plugins
from modelplug.testing.probe import CallProbe
from modelplug.types import ChatMessageStreamDelta


@pytest.fixture
def model() -> Iterator[modelplug.Model]:
    with modelplug.load_model("replay:x", responses=["a b c d"], loop=True) as loaded:
        yield loaded


def test_a_stream_read_to_its_end_and_one_closed_early_are_told_apart(model: modelplug.Model) -> None:
    with CallProbe() as probe:
        list(model.stream("hi"))
        stream = model.stream("hi")
        next(iter(stream))
        stream.close()
    assert probe.calls == [("generate_stream", "x"), ("generate_stream", "x")]
    whole, cut = probe.streams
    assert (whole.exhausted, whole.close_called, whole.deltas > 1) == (True, True, True)
    assert (cut.exhausted, cut.close_called, cut.deltas) == (False, True, 1)
    assert cut.closeable and cut.is_generator and cut.generator_state == "GEN_CLOSED"
    assert cut.close_error is None


def test_nothing_is_recorded_once_uninstalled(model: modelplug.Model) -> None:
    probe = CallProbe().install()
    model.generate("hi")
    probe.uninstall()
    probe.uninstall()  # safe twice
    model.generate("hi")
    assert probe.calls == [("generate_stream", "x")]
    probe.reset()
    assert (probe.calls, probe.streams) == ([], [])


def test_an_async_stream_closed_early_is_seen_closed(model: modelplug.Model) -> None:
    async def main() -> None:
        stream = model.astream("hi")
        async for _ in stream:
            break
        await stream.aclose()

    with CallProbe() as probe:
        anyio.run(main)
    assert probe.calls == [("agenerate_stream", "x")]
    [seen] = probe.astreams
    assert (seen.deltas, seen.exhausted, seen.aclose_called, seen.finished) == (1, False, True, True)


class Stubborn:
    """A provider whose generator yields again when it is closed (a broken contract)."""

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True)

    @modelplug.hookimpl
    def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
        while True:
            try:
                yield ChatMessageStreamDelta(content="more ")
            except GeneratorExit:
                yield ChatMessageStreamDelta(content="still here")


def test_a_generator_that_ignores_close_is_caught_with_its_error() -> None:
    plugins.register_provider("stubborn", Stubborn())
    try:
        with CallProbe() as probe, modelplug.load_model("stubborn:x") as model:
            stream = model.stream("hi")
            next(iter(stream))
            stream.close()  # the core logs the failed close (stream_close_failed) and goes on
    finally:
        plugins.unregister_provider("stubborn")
    [seen] = probe.streams
    assert seen.close_called and isinstance(seen.close_error, RuntimeError)
    assert "ignored GeneratorExit" in str(seen.close_error)
