"""64 models created, streamed and closed from threads at once: every answer from its own model,
nothing leaked afterwards."""

from __future__ import annotations

import os
import sys
import threading

import modelplug
from modelplug.agents.callable_model import model_from_callable

MODELS = 64


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _callable(index: int) -> object:
    def answer(messages: list[dict[str, object]]) -> str:
        return f"callable {index} answers"

    return answer


def test_64_models_from_threads_each_answer_from_its_own_model(fresh_plugins: None) -> None:
    modelplug.list_providers()  # discovery once, outside the measured window
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    results: dict[int, tuple[str, str, str]] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(MODELS)

    def work(index: int) -> None:
        try:
            start.wait()
            if index % 4 == 3:  # callable models: each registers a provider of its own, concurrently
                model = model_from_callable(_callable(index))
                expected = f"callable {index} answers"
            else:
                expected = f"model {index} says {' '.join(['word'] * (index % 7 + 1))}"
                model = modelplug.load_model(f"replay:m{index}", responses=[expected])
            with model:
                stream = model.stream("q", allow_fallback=True)
                seen: list[str] = []
                for delta in stream:
                    seen.append(stream.message.text)  # read while iterating
                    assert delta is not None
                results[index] = (expected, stream.message.text, "".join(seen[-1:]))
        except BaseException as error:  # reported below
            failures.append(error)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=work, args=(i,)) for i in range(MODELS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(previous)
    assert failures == []
    assert len(results) == MODELS
    for expected, message, last_read in results.values():
        assert message == expected and last_read == expected
    leftover = {t for t in threading.enumerate() if t not in threads_before and t.is_alive()}
    assert leftover == set()
    assert _open_fds() <= fds_before
    providers = {p.name for p in modelplug.list_providers()}
    assert not any(name.startswith("callable-") for name in providers)  # closed callable models unregistered


def test_streams_closed_from_other_threads_keep_their_text(fresh_plugins: None) -> None:
    models = [modelplug.load_model(f"replay:c{i}", responses=[f"text {i} " * 50]) for i in range(16)]
    streams = [m.stream("q") for m in models]
    firsts = [next(iter(s)) for s in streams]
    closers = [threading.Thread(target=s.close) for s in streams]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()
    for stream, first in zip(streams, firsts, strict=True):
        assert stream.outcome == "cancelled"
        assert stream.message.text == first.content == "text "  # what was received stays
    for model in models:
        model.close()
