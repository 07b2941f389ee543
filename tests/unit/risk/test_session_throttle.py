"""The per-session message throttle counts the last second exactly."""

from __future__ import annotations

import pytest

from risk.throttle import SessionThrottle, ThrottleLimits, ThrottleVerdict

MS = 1_000_000


def verdicts(throttle: SessionThrottle, times_ms) -> list[ThrottleVerdict]:
    return [throttle.admit(t * MS) for t in times_ms]


def test_messages_up_to_the_limit_in_one_second_are_admitted_and_the_next_is_refused():
    throttle = SessionThrottle(ThrottleLimits(refuse_above=3, log_out_above=10))
    assert verdicts(throttle, [0, 100, 200, 300]) == [ThrottleVerdict.ADMIT] * 3 + [ThrottleVerdict.REFUSE]


def test_the_window_slides_so_messages_older_than_a_second_no_longer_count():
    throttle = SessionThrottle(ThrottleLimits(refuse_above=2, log_out_above=10))
    # at 1000 the message sent at 0 has left; at 1499 and 1500 three are inside; at 2500 one is
    assert verdicts(throttle, [0, 500, 1000, 1499, 1500, 2500]) == [
        ThrottleVerdict.ADMIT, ThrottleVerdict.ADMIT, ThrottleVerdict.ADMIT,
        ThrottleVerdict.REFUSE, ThrottleVerdict.REFUSE, ThrottleVerdict.ADMIT]


def test_exactly_a_second_later_the_first_message_has_left_the_window():
    throttle = SessionThrottle(ThrottleLimits(refuse_above=1, log_out_above=10))
    assert throttle.admit(0) is ThrottleVerdict.ADMIT
    assert throttle.admit(999 * MS) is ThrottleVerdict.REFUSE
    assert throttle.admit(2000 * MS) is ThrottleVerdict.ADMIT


def test_a_session_that_keeps_sending_while_refused_reaches_the_logout_threshold():
    throttle = SessionThrottle(ThrottleLimits(refuse_above=2, log_out_above=4))
    assert verdicts(throttle, [0, 1, 2, 3, 4]) == [
        ThrottleVerdict.ADMIT, ThrottleVerdict.ADMIT, ThrottleVerdict.REFUSE, ThrottleVerdict.REFUSE,
        ThrottleVerdict.LOG_OUT]


def test_the_history_never_grows_past_the_logout_threshold():
    throttle = SessionThrottle(ThrottleLimits(refuse_above=5, log_out_above=8))
    for t in range(1000):
        throttle.admit(t)  # all within one millisecond
    assert throttle.in_window == 8


def test_reset_starts_a_new_count():
    throttle = SessionThrottle(ThrottleLimits(refuse_above=1, log_out_above=1))
    throttle.admit(0)
    throttle.reset()
    assert throttle.admit(1) is ThrottleVerdict.ADMIT


def test_a_logout_threshold_below_the_refuse_threshold_is_a_programming_error():
    with pytest.raises(ValueError):
        SessionThrottle(ThrottleLimits(refuse_above=5, log_out_above=4))
