"""The dashboard's four views: region map, run replay, sweep explorer, live twin."""
