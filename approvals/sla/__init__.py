"""The SLA clock: due times in business hours, reminder points, the sweep that acts on them."""
