"""The Alerts page (``alerts.py``), the Maintenance page (``maintenance.py``) and the
alerts' runbooks (``runbooks.py``).

The Alerts and Maintenance pages go through the same service functions as the API, so
a page can do nothing the API would refuse. Dates typed into them are read in the
configured time zone; the database keeps UTC.
"""

from flask import Blueprint

bp = Blueprint("incident_pages", __name__, template_folder="../templates")

from portal.incidents.pages import (  # noqa: E402, F401 - their routes join bp
    ack,
    alerts,
    maintenance,
    maintenance_schedules,
    runbooks,
)
