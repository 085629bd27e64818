"""The opt-in pytest plugin (:mod:`modelplug.testing.pytest_plugin`): its fixtures in an inner
pytest session (``pytester``) that enables it the way a provider's ``conftest.py`` does."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = 'pytest_plugins = ["modelplug.testing.pytest_plugin"]\n'


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")


def test_the_probe_fixture_sees_the_hooks_and_the_closed_stream(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import modelplug


def test_probe(modelplug_probe):
    with modelplug.load_model("replay:x", responses=["a b c"], loop=True) as model:
        stream = model.stream("hi")
        next(iter(stream))
        stream.close()
    assert modelplug_probe.calls == [("generate_stream", "x")]
    [seen] = modelplug_probe.streams
    assert seen.close_called and not seen.exhausted


def test_uninstalled_after_the_test():
    from modelplug import _plugins as plugins

    names = [name for name, _ in plugins.get_plugin_manager().list_name_plugin()]
    assert not [name for name in names if name and name.startswith("modelplug.testing.probe")]
""",
    )
    result.assert_outcomes(passed=2)


def test_the_thread_guard_passes_a_test_whose_threads_end_in_the_grace_period(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import threading
import time


def test_a_thread_that_ends_soon(modelplug_thread_guard):
    threading.Thread(target=time.sleep, args=(0.3,), name="short-lived").start()
""",
    )
    result.assert_outcomes(passed=1)


@pytest.mark.slow  # the guard waits its 10 s grace period before it fails the test
def test_the_thread_guard_fails_a_test_that_leaves_a_thread_running_and_names_it(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import threading

stop = threading.Event()


def test_a_thread_left_running(modelplug_thread_guard):
    threading.Thread(target=stop.wait, args=(30,), name="left-behind", daemon=True).start()


def test_zz_cleanup():
    stop.set()
""",
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*threads left running: left-behind*"])
