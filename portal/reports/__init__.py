"""Reports: downtime and availability over a period, on screen and as CSV/XLSX."""
