"""The RQ side: connections, queue, signals to the scheduler, and the task workers run."""
