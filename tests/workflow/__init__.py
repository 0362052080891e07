"""Enrolment, stage checks, policies, challenges, retention and the demo scenario."""
