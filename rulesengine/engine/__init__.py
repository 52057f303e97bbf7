"""The running engine: clock, sessions, schedules, journal, sizing, limits, breakers, the loop."""
