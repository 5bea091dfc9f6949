"""Supervision (电子监察): time limits that bite, warning levels, figures and the periodic report.

`levels` says where a case or request stands (pure); `scheduler.Supervisor.tick` sends the reminders,
warnings and escalations that are due, once; `figures` counts per department and service item from the
access log and the case records; `report` writes them as CSV and PDF.
"""
