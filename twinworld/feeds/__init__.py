"""Feeds: the only place that reads the outside world (OSM, grid cases, AIS, census, MQTT)."""
