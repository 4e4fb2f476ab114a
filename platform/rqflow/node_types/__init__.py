"""What a workflow node type is (the base class, its config and context) and the registry of them.

The node types themselves live in :mod:`rqflow.components`, above the services some of them
call; this package sits below the services, which check a workflow's nodes against it.
"""
