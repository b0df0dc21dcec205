"""Settings of the scaling capability (`pyairtable-infra:scaling`): platform replicas and dev's off-hours.

One object-valued config key per environment stack. Node autoscaling itself needs no settings: the
cluster autoscaler scales each managed node group between its `nodes.minSize` and `nodes.maxSize`.
"""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from components.config.common import FrozenModel

HOURS_PER_WEEK = 7 * 24
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Weekday(StrEnum):
    """A day of the week as config spells it; `cron` is its number in Unix cron (Sunday is 0)."""

    MONDAY = "mon"
    TUESDAY = "tue"
    WEDNESDAY = "wed"
    THURSDAY = "thu"
    FRIDAY = "fri"
    SATURDAY = "sat"
    SUNDAY = "sun"

    @property
    def cron(self) -> int:
        """The day's number in the cron syntax EC2 Auto Scaling schedules use (0 = Sunday)."""
        return (list(Weekday).index(self) + 1) % 7


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class OffHours(FrozenModel):
    """Working hours; outside them every node group scales to zero (the control plane stays)."""

    time_zone: str = Field(alias="timeZone")
    """IANA time zone of the hours, e.g. `Europe/Berlin` (EC2 Auto Scaling follows its daylight saving)."""
    weekdays: tuple[Weekday, ...] = Field(min_length=1)
    """Working days (`mon` ... `sun`); the nodes start at `start` and stop at `end` on each of them."""
    start: str = Field(pattern=TIME_PATTERN)
    """When the nodes start, `HH:MM` local time."""
    end: str = Field(pattern=TIME_PATTERN)
    """When the nodes stop, `HH:MM` local time, after `start` on the same day."""

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York)") from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _unique(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"a weekday is listed twice: {[day.value for day in value]}")
        return value

    @model_validator(mode="after")
    def _order(self) -> OffHours:
        if _minutes(self.start) >= _minutes(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end} (hours within one day)")
        return self

    def _cron(self, clock: str) -> str:
        hours, minutes = clock.split(":")
        days = ",".join(str(day.cron) for day in sorted(self.weekdays, key=lambda day: day.cron))
        return f"{int(minutes)} {int(hours)} * * {days}"

    @property
    def start_recurrence(self) -> str:
        """Unix cron of the scale-up action, in `time_zone`."""
        return self._cron(self.start)

    @property
    def stop_recurrence(self) -> str:
        """Unix cron of the scale-to-zero action, in `time_zone`."""
        return self._cron(self.end)

    @property
    def running_share(self) -> float:
        """Share of the week's hours the nodes run (the bill multiplies node hours by it)."""
        hours = len(self.weekdays) * (_minutes(self.end) - _minutes(self.start)) / 60
        return hours / HOURS_PER_WEEK


class ScalingSettings(FrozenModel):
    """Replicas of the platform's controllers, and an optional off-hours schedule for the nodes."""

    platform_replicas: int = Field(alias="platformReplicas", ge=1, le=5)
    """Replicas of every platform component that can run more than one (ESO, Alertmanager, Grafana,
    CoreDNS, the load balancer controller, the autoscaler, metrics-server); prod requires at least 2."""
    off_hours: OffHours | None = Field(alias="offHours", default=None)
    """Working hours of the nodes; unset: nodes run around the clock (prod refuses a schedule)."""
