# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The frame every cairn.platform module runs in: shared options, the plan, and error handling."""

from __future__ import annotations

import contextlib
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cairn.platform.plugins.module_utils.aws import CONNECTION_ARGUMENT_SPEC, IMPORTED_BY_PID, TIMINGS, AwsConnection
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, describe_exception
from ansible_collections.cairn.platform.plugins.module_utils.plan import Plan, unknown_fields
from ansible_collections.cairn.platform.plugins.module_utils.tags import OWNERSHIP_ARGUMENT_SPEC, Ownership


class CairnModule:
    """AnsibleModule plus the collection's contract: check mode, plan/diff, ownership, clear errors."""

    def __init__(self, component, argument_spec, **kwargs):
        self._started = time.monotonic()
        spec = {}
        spec.update(CONNECTION_ARGUMENT_SPEC)
        spec.update(OWNERSHIP_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.component = component
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.plan = Plan(check_mode=self.check_mode)
        self._connection = None
        self._account_id = None

    def ownership(self):
        return Ownership(
            self.params["environment"],
            self.params["stack"],
            self.component,
            user_tags=self.params.get("tags"),
            purge_tags=self.params.get("purge_tags", True),
        )

    @property
    def connection(self):
        if self._connection is None:
            self._connection = AwsConnection(self.params)
        return self._connection

    def client(self, service, region=None):
        return self.connection.client(service, region)

    def remember_account_id(self, account_id):
        """Seed the account id from a describe answer (an OwnerId), saving an STS call."""
        if account_id and self._account_id is None:
            self._account_id = account_id

    def account_id(self):
        if self._account_id is None:
            with self.doing("reading the account id"):
                self._account_id = self.client("sts").get_caller_identity()["Account"]
        return self._account_id

    def partition(self):
        return self.connection.session.get_partition_for_region(self.connection.region)

    @contextlib.contextmanager
    def doing(self, action):
        """Name what is being done, so any SDK failure inside becomes a sentence that says so."""
        try:
            yield
        except CairnError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a CairnError with context
            message, details = describe_exception(exc, action)
            raise CairnError(message, **details)

    def fail(self, message, **details):
        self.module.fail_json(msg=message, changes=self.plan.changes, **details)

    def run(self, converge):
        """Call `converge()` (returns the result's resource data) and exit with the shared result shape.

        In check mode an input may be UNKNOWN, the id an earlier task only planned to create; modules
        plan with it. Outside check mode it would reach AWS, so it is refused before any call.
        """
        unknown = unknown_fields({k: v for k, v in self.params.items() if k not in CONNECTION_ARGUMENT_SPEC})
        if unknown and not self.check_mode:
            self.fail(
                "{0}: the value is '(known after apply)', the placeholder of a resource an earlier task only "
                "planned in check mode; run that task for real first.".format(", ".join(unknown))
            )
        try:
            data = converge() or {}
        except CairnError as exc:
            self.fail(exc.message, **exc.details)
        except Exception as exc:  # noqa: BLE001
            message, details = describe_exception(exc, "converging " + self.component)
            self.fail(message, **details)
        self.module.exit_json(**self.plan.result(diff_mode=self.module._diff, **self.profile(), **data))

    def profile(self):
        """With CAIRN_PROFILE set, where the module's time went (the cairn.platform.profile callback sums it up)."""
        if not os.environ.get("CAIRN_PROFILE"):
            return {}
        timings = {key: round(value, 4) if isinstance(value, float) else value for key, value in TIMINGS.items()}
        if IMPORTED_BY_PID != os.getpid():  # the SDK was imported once, by the controller, before the fork
            timings["sdk_import_seconds"] = 0.0
        timings["module_seconds"] = round(time.monotonic() - self._started, 4)
        timings["process_startup_seconds"] = _process_startup_seconds(timings["module_seconds"])
        return {"cairn_profile": timings}


def _process_startup_seconds(module_seconds):
    """Seconds from the start of this process to the start of the module's own run (Linux; None elsewhere).

    In a module's own process that is Python, AnsiballZ and imports; in Ansible's worker it is the
    worker's life before the module started (the fork and the action plugin).
    """
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            up = float(uptime.read().split()[0])
        age = up - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return round(max(age - module_seconds, 0.0), 4)
