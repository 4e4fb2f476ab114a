"""The scheduler process: keeps one rq-scheduler timer per active schedule and moves due ones to RQ."""
