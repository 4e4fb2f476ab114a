"""The workflow engine: runs a workflow's nodes downstream of its trigger, recording each."""
