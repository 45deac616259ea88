"""The cloud's web pages: the fleet view at ``/fleet`` (plain HTML, CSS and JS from this package)."""
