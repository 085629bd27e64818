"""One vLLM async engine, driven from synchronous and from asynchronous code.

vLLM's ``AsyncLLM`` is bound to one event loop: its output-handler task, its ZeroMQ sockets and each
request's output collector (an ``asyncio.Event``) live on the loop of its first request, and a
second loop gets ``EngineDeadError``. So each loaded model gets its own event loop, run forever in a
daemon thread (``modelplug-vllm-<n>``); the engine is created there and every request runs there.
One pump coroutine per request iterates ``AsyncLLM.generate`` on that loop and hands each
``RequestOutput`` to the caller: :meth:`EngineRunner.stream` through a thread-safe queue (a sync
iterator), :meth:`EngineRunner.astream` through an ``asyncio.Queue`` on the caller's loop, fed with
``loop.call_soon_threadsafe`` (no thread per stream, the caller's loop never blocks). Closing either
early, or cancelling the awaiting task, cancels the pump and aborts the request in the engine.
Why not ``generate`` on the caller's loop: see ``docs/providers/vllm.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import itertools
import queue
import sys
import threading
import uuid
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Mapping, Sequence
from typing import Any, Final, TypeVar

from modelplug.log import get_logger
from modelplug_vllm import compat

__all__ = ["EngineRunner", "release_accelerator_memory"]

T = TypeVar("T")

_OUTPUT: Final = 0
_END: Final = 1
_ERROR: Final = 2
_ABORT_TIMEOUT_S: Final = 60.0
_SHUTDOWN_TIMEOUT_S: Final = 120.0
_numbers = itertools.count(1)


def release_accelerator_memory() -> None:
    """Free what an engine left on the accelerator in this process: collect garbage, tear down vLLM's
    distributed state (set up in-process when ``VLLM_ENABLE_V1_MULTIPROCESSING=0``) and empty the
    CUDA cache. Safe to call when nothing was set up or torch was never imported."""
    gc.collect()
    if "vllm.distributed.parallel_state" in sys.modules:
        state = sys.modules["vllm.distributed.parallel_state"]
        for name in ("destroy_model_parallel", "destroy_distributed_environment"):
            function = getattr(state, name, None)
            if function is not None:
                try:
                    function()
                except Exception as error:  # best effort: nothing else can be done here
                    get_logger().warning("vllm_teardown_failed", step=name, error=repr(error))
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
        torch.cuda.ipc_collect()
    gc.collect()


class EngineRunner:
    """An ``AsyncLLM`` for one model and the event-loop thread it lives on.

    Args:
        engine_kwargs: keyword arguments of ``AsyncEngineArgs`` (``model`` included).

    Raises:
        Exception: whatever vLLM raises while starting the engine (the thread is stopped first).
    """

    def __init__(self, engine_kwargs: Mapping[str, Any]) -> None:
        self.number = next(_numbers)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name=f"modelplug-vllm-{self.number}", daemon=True)
        self._thread.start()
        self.engine: Any = None
        self.tokenizer: Any = None
        self.sampling_defaults: dict[str, Any] = {}
        try:
            self.engine = self.call(self._start(dict(engine_kwargs)))
        except BaseException:
            self._stop_loop()
            raise

    # -- the loop thread -------------------------------------------------------------------------

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the engine's loop and wait for its result (``timeout`` in seconds)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    async def _start(self, engine_kwargs: dict[str, Any]) -> Any:
        args = compat.engine_args_class()(**engine_kwargs)
        engine = compat.async_engine_class().from_engine_args(args)
        tokenizer = engine.get_tokenizer()
        if inspect.isawaitable(tokenizer):  # async in vLLM ≤ 0.10
            tokenizer = await tokenizer
        self.tokenizer = tokenizer
        model_config = getattr(engine, "model_config", None)
        get_defaults = getattr(model_config, "get_diff_sampling_param", None)
        self.sampling_defaults = dict(get_defaults()) if get_defaults is not None else {}
        return engine

    # -- requests --------------------------------------------------------------------------------

    @staticmethod
    def new_request_id() -> str:
        """A unique request id (``modelplug-<hex>``)."""
        return f"modelplug-{uuid.uuid4().hex}"

    def stream(
        self,
        conversation: Sequence[Mapping[str, Any]],
        sampling_params: Any,
        *,
        tools: list[dict[str, Any]] | None = None,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Generator[Any, None, None]:
        """Render the chat prompt and run one request; yield vLLM's ``RequestOutput`` objects as they come.

        The request starts when the iterator is first advanced. Closing the iterator before the last
        output aborts the request in the engine (and waits for the abort, so
        ``engine.get_num_unfinished_requests()`` no longer counts it).

        Raises:
            Exception: vLLM's errors, unchanged (``VLLMValidationError`` for a prompt over the context
                length, ``EngineDeadError``, ...).
        """
        rid = request_id or self.new_request_id()
        results: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()

        def put(kind: int, item: Any) -> None:
            results.put((kind, item))

        pump = self._pump(rid, conversation, sampling_params, tools, chat_template_kwargs, put)
        future = asyncio.run_coroutine_threadsafe(pump, self._loop)
        ended = False
        try:
            while True:
                kind, item = results.get()
                if kind == _OUTPUT:
                    yield item
                    continue
                ended = True
                if kind == _ERROR:
                    raise item
                return
        finally:
            if not ended:
                future.cancel()
                self.abort(rid)

    async def astream(
        self,
        conversation: Sequence[Mapping[str, Any]],
        sampling_params: Any,
        *,
        tools: list[dict[str, Any]] | None = None,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        """The async twin of :meth:`stream`, for a coroutine on any event loop: yield vLLM's
        ``RequestOutput`` objects as the engine's loop produces them.

        The request starts at the first ``__anext__``. No thread is started: the engine's loop thread
        queues each output on the caller's loop (``call_soon_threadsafe``), and the caller awaits it.
        ``aclose()`` before the last output, or cancelling the task that awaits it (``task.cancel()``,
        ``asyncio.timeout``), aborts the request in the engine and awaits the abort (shielded, so that
        ``get_num_unfinished_requests()`` no longer counts it); ``CancelledError`` propagates.

        Raises:
            Exception: vLLM's errors, unchanged, as in :meth:`stream`.
        """
        rid = request_id or self.new_request_id()
        loop = asyncio.get_running_loop()
        results: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()

        def put(kind: int, item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody reads any more
                loop.call_soon_threadsafe(results.put_nowait, (kind, item))

        pump = self._pump(rid, conversation, sampling_params, tools, chat_template_kwargs, put)
        future = asyncio.run_coroutine_threadsafe(pump, self._loop)
        ended = False
        try:
            while True:
                kind, item = await results.get()
                if kind == _OUTPUT:
                    yield item
                    continue
                ended = True
                if kind == _ERROR:
                    raise item
                return
        finally:
            if not ended:
                future.cancel()
                await self.aabort(rid)

    async def _pump(
        self,
        rid: str,
        conversation: Sequence[Mapping[str, Any]],
        sampling_params: Any,
        tools: list[dict[str, Any]] | None,
        chat_template_kwargs: Mapping[str, Any] | None,
        put: Callable[[int, Any], None],
    ) -> None:
        """Run one request on the engine's loop; hand each output, then the end or the error, to ``put``."""
        try:
            prompt = await self._render(conversation, tools, chat_template_kwargs)
            async for output in self.engine.generate(prompt, sampling_params, request_id=rid):
                put(_OUTPUT, output)
        except asyncio.CancelledError:
            put(_END, None)
            raise
        except BaseException as error:
            put(_ERROR, error)
        else:
            put(_END, None)

    def abort(self, request_id: str) -> None:
        """Abort ``request_id`` in the engine and wait until it is done (no-op for finished requests)."""
        if self.engine is None or self._loop.is_closed():
            return
        try:
            self.call(self._abort(request_id), timeout=_ABORT_TIMEOUT_S)
        except Exception as error:  # the request is gone either way; never hide the caller's own error
            get_logger().warning("vllm_abort_failed", request_id=request_id, error=repr(error))

    async def aabort(self, request_id: str) -> None:
        """:meth:`abort` for a coroutine on any loop: awaits the abort on the engine's loop without
        blocking the caller's loop. Shielded: cancelling the caller again does not cancel the abort."""
        if self.engine is None or self._loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self._abort(request_id), self._loop)
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), _ABORT_TIMEOUT_S)
        except Exception as error:  # as in abort(); CancelledError (a second cancel) propagates
            get_logger().warning("vllm_abort_failed", request_id=request_id, error=repr(error))

    async def _abort(self, request_id: str) -> None:
        engine = self.engine
        if engine is None:  # shut down meanwhile: nothing left to abort
            return
        result = engine.abort(request_id)
        if inspect.isawaitable(result):
            await result

    async def _render(
        self,
        conversation: Sequence[Mapping[str, Any]],
        tools: list[dict[str, Any]] | None,
        chat_template_kwargs: Mapping[str, Any] | None,
    ) -> Any:
        template_kwargs: dict[str, Any] = {"add_generation_prompt": True, **dict(chat_template_kwargs or {})}
        if tools:
            template_kwargs["tools"] = tools
        renderer = getattr(self.engine, "renderer", None)
        chat_params_class = compat.chat_params_class()
        if renderer is not None and chat_params_class is not None and hasattr(renderer, "render_chat_async"):
            _, (prompt,) = await renderer.render_chat_async(
                [list(conversation)], chat_params_class(chat_template_kwargs=template_kwargs)
            )
            return prompt
        # vLLM before the renderer API: apply the chat template here and pass token ids.
        from modelplug_vllm.convert import _arguments_as_object

        messages = [
            {**m, "tool_calls": [_arguments_as_object(c) for c in m["tool_calls"]]} if m.get("tool_calls") else dict(m)
            for m in conversation
        ]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, **template_kwargs)
        return {"prompt_token_ids": list(self.tokenizer.encode(text, add_special_tokens=False))}

    def num_unfinished_requests(self) -> int:
        """``engine.get_num_unfinished_requests()`` (0 once the engine is shut down)."""
        if self.engine is None:
            return 0
        return int(self.engine.get_num_unfinished_requests())

    # -- shutdown --------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Shut the engine down (its processes end, their memory is freed), stop the loop thread and
        release accelerator memory held by this process. Idempotent."""
        engine, self.engine = self.engine, None
        self.tokenizer = None
        if engine is not None and not self._loop.is_closed():

            async def stop(engine: Any = engine) -> None:
                shutdown = getattr(engine, "shutdown", None)
                if shutdown is not None:
                    shutdown()
                elif hasattr(engine, "shutdown_background_loop"):  # V0 AsyncLLMEngine
                    engine.shutdown_background_loop()

            try:
                self.call(stop(), timeout=_SHUTDOWN_TIMEOUT_S)
            except Exception as error:
                get_logger().warning("vllm_shutdown_failed", error=repr(error))
        engine = None
        self._stop_loop()
        release_accelerator_memory()

    def _stop_loop(self) -> None:
        if self._loop.is_closed():
            return
        if self._thread.is_alive():

            async def cancel_tasks() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            with contextlib.suppress(Exception):
                self.call(cancel_tasks(), timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        if not self._thread.is_alive():
            self._loop.close()

    @property
    def running(self) -> bool:
        """Whether the engine is up (not shut down)."""
        return self.engine is not None
