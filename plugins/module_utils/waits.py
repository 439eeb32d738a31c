# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded waits that report how long they took."""

from __future__ import annotations

import math
import time

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError

try:
    from botocore.exceptions import WaiterError
except ImportError:  # pragma: no cover
    WaiterError = Exception


class WaitClock:
    """One deadline for all waits of a module run, so `wait_timeout` bounds the whole run's waiting."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.started = time.monotonic()
        self.waited = 0.0

    def remaining(self):
        return max(0.0, self.timeout - (time.monotonic() - self.started))

    def waiter(self, client, waiter_name, what, delay=5, **kwargs):
        """Run a botocore waiter within the remaining time; raise CairnError naming `what` on timeout."""
        remaining = self.remaining()
        attempts = max(1, int(math.ceil(remaining / float(delay))))
        started = time.monotonic()
        try:
            client.get_waiter(waiter_name).wait(WaiterConfig={"Delay": delay, "MaxAttempts": attempts}, **kwargs)
        except WaiterError as exc:
            if "Max attempts exceeded" in str(exc):
                raise CairnError(
                    "Timed out after {0:.0f} s waiting for {1} (wait_timeout={2}); the resources exist and "
                    "the next run picks them up.".format(time.monotonic() - started, what, self.timeout),
                    waited_for=what,
                )
            # A terminal state (a NAT gateway that went to failed, say) is not a timeout.
            raise CairnError("AWS reported a failure while waiting for {0}: {1}.".format(what, exc), waited_for=what)
        finally:
            self.waited += time.monotonic() - started

    def poll(self, probe, what, delay=5):
        """Call `probe()` until it returns a truthy value or the time is up."""
        started = time.monotonic()
        try:
            while True:
                value = probe()
                if value:
                    return value
                if self.remaining() <= 0:
                    raise CairnError(
                        "Timed out waiting for {0} (wait_timeout={1}); the next run picks it up.".format(what, self.timeout),
                        waited_for=what,
                    )
                time.sleep(min(delay, max(self.remaining(), 0.1)))
        finally:
            self.waited += time.monotonic() - started
