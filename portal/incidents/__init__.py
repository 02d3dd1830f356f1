"""Incidents: downtime history recorded from Alertmanager's notifications."""
