"""The fleet view: which hubs and devices are alive, and what the bridge could not take."""
