"""Device codecs: one MQTT (or HTTP) message in a vendor's real format -> normalised readings."""
